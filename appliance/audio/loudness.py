"""Prompt loudness: every prompt at the same active speech level (ITU-T P.56, method B), after a short silence.

Normalising by peak left two prompts 2 dB apart and both 4-6 dB above the level phone networks are built
for: a caller heard the greeting louder than the menu, and loud prompts clipped in the modem's codec. Here
each prompt is brought to TARGET_DBOV active speech level (P.56: the level over the time speech is active,
so pauses between sentences do not count), its rare peaks above the ceiling are rounded off softly, and it
starts with LEAD_IN_SECONDS of silence: the caller's first syllable then arrives after the voice path has
settled (a USB voice port just switched on, a codec's first frames, an echo canceller converging).

dBov: 0 dBov is the level of a full-scale square wave (a full-scale sine is -3 dBov). Standard library only:
the daemon and the web app both make prompts, and numpy here cost each of them ~16 MB of resident memory for
the rest of its life (on a Pi Zero's 512 MB). Run once when a prompt is made, never while a caller waits:
about 3 ms per second of speech here (numpy: 0.5 ms, plus 0.1-0.2 s to import it).
"""

from __future__ import annotations

import math
import operator
from array import array
from bisect import bisect_left
from collections import deque
from collections.abc import Sequence

TARGET_DBOV = -26.0  # ITU-T P.800/G.100 nominal speech level: what networks and codecs are tuned for
LEAD_IN_SECONDS = 0.15
CEILING = 10 ** (-1 / 20)  # peaks are rounded off above -1 dBFS, so no sample clips after the gain

# P.56 method B constants
_TIME_CONSTANT = 0.03  # s, envelope smoothing
_HANGOVER = 0.2  # s, a pause shorter than this still counts as active speech
_MARGIN_DB = 15.9  # the threshold sits this far below the active level
_FULL = 32768  # S16 full scale


def _envelope(magnitudes: Sequence[float], g: float, step: int) -> array[float]:
    """P.56's envelope: |x| through the one-pole smoother y[n] = g*y[n-1] + (1-g)*x[n] twice, kept every
    `step` samples (the filters themselves run on every sample)."""
    h = 1.0 - g
    first = second = 0.0
    kept = array("d")
    for start in range(0, len(magnitudes), step):
        for v in magnitudes[start:start + step]:
            first = g * first + h * v
            second = g * second + h * first
        kept.append(second)
    return kept


def _window_peaks(envelope: Sequence[float], hangover: int) -> array[float]:
    """For each point, the loudest envelope value over it and the `hangover` points before it.

    A point is active at threshold c when the envelope reached c within the hangover before it, that is
    when this peak is >= c: one pass here, then every threshold is a binary search instead of a walk."""
    peaks = array("d")
    window: deque[int] = deque()  # indices whose values decrease: the front is the window's peak
    for i, value in enumerate(envelope):
        while window and envelope[window[-1]] <= value:
            window.pop()
        window.append(i)
        if window[0] < i - hangover:
            window.popleft()
        peaks.append(envelope[window[0]])
    return peaks


def active_speech_level(samples: Sequence[float], rate: int) -> float:
    """The P.56 active speech level in dBov of float samples at full scale 1.0; -inf for silence."""
    return _level([abs(v) for v in samples], math.fsum(v * v for v in samples), rate)


def _level(magnitudes: Sequence[float], energy: float, rate: int) -> float:
    """The P.56 level from the samples' magnitudes and their summed squares, both at full scale 1.0."""
    if not magnitudes or energy == 0.0:
        return float("-inf")
    g = math.exp(-1.0 / (rate * _TIME_CONSTANT))
    # the envelope changes over tens of ms: judged every millisecond, activity is the same to within 0.01 dB
    step = max(1, rate // 1000)
    peaks = sorted(_window_peaks(_envelope(magnitudes, g, step), int(_HANGOVER * rate) // step))
    levels, margins = [], []
    for k in range(-16, 1):  # thresholds from -96 dB up to full scale, 6 dB apart
        c = 2.0 ** k
        count = len(peaks) - bisect_left(peaks, c)
        if count == 0:
            break
        active = min(len(magnitudes), step * count)
        level = 10 * math.log10(energy / active)
        levels.append(level)
        margins.append(level - 20 * math.log10(c))
    # the level where (active level - threshold) falls through the margin, interpolated between thresholds
    for j in range(1, len(margins)):
        if margins[j] <= _MARGIN_DB <= margins[j - 1]:
            span = margins[j - 1] - margins[j]
            t = 0.0 if span == 0 else (margins[j - 1] - _MARGIN_DB) / span
            return levels[j - 1] + t * (levels[j] - levels[j - 1])
    return levels[-1] if margins and margins[-1] > _MARGIN_DB else levels[0]


def _limited(value: float) -> int:
    """One sample after the gain (full scale 1.0) as S16: above the ceiling a soft knee rounds rare peaks off
    instead of clipping them into distortion."""
    size = abs(value)
    if size > CEILING:
        size = CEILING + (1 - CEILING) * math.tanh((size - CEILING) / (1 - CEILING))
        value = math.copysign(size, value)
    return min(32767, max(-_FULL, round(value * _FULL)))


def normalise(pcm: bytes, rate: int, target_dbov: float = TARGET_DBOV) -> bytes:
    """S16LE speech at `target_dbov` active speech level, soft-limited below the ceiling, after the lead-in."""
    samples = array("h")
    samples.frombytes(pcm[:len(pcm) - len(pcm) % 2])  # native order: little-endian, as on every box (x86, Arm)
    # Arrays, not lists: a list holds each sample as its own float object, and a few threads making prompts at
    # once scattered megabytes of them through the allocator's arenas, kept by the daemon after the prompts.
    magnitudes = array("d", (abs(s) / _FULL for s in samples))
    energy = math.fsum(map(operator.mul, samples, samples)) / (_FULL * _FULL)
    level = _level(magnitudes, energy, rate)
    out = array("h", bytes(2 * int(LEAD_IN_SECONDS * rate)))
    if math.isfinite(level):
        gain = 10 ** ((target_dbov - level) / 20)
        if max(magnitudes) * gain <= CEILING:  # the usual case: a plain gain, no sample near the ceiling
            out.extend(round(s * gain) for s in samples)
        else:
            scale = gain / _FULL
            out.extend(_limited(s * scale) for s in samples)
    else:
        out.extend(samples)
    return out.tobytes()
