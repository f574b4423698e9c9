"""Prompt loudness: every prompt at the same active speech level (ITU-T P.56, method B), after a short silence.

Normalising by peak left two prompts 2 dB apart and both 4-6 dB above the level phone networks are built
for: a caller heard the greeting louder than the menu, and loud prompts clipped in the modem's codec. Here
each prompt is brought to TARGET_DBOV active speech level (P.56: the level over the time speech is active,
so pauses between sentences do not count), its rare peaks above the ceiling are rounded off softly, and it
starts with LEAD_IN_SECONDS of silence: the caller's first syllable then arrives after the voice path has
settled (a USB voice port just switched on, a codec's first frames, an echo canceller converging).

dBov: 0 dBov is the level of a full-scale square wave (a full-scale sine is -3 dBov). Pure numpy, run once
when a prompt is made, never while a caller waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy

TARGET_DBOV = -26.0  # ITU-T P.800/G.100 nominal speech level: what networks and codecs are tuned for
LEAD_IN_SECONDS = 0.15
CEILING = 10 ** (-1 / 20)  # peaks are rounded off above -1 dBFS, so no sample clips after the gain

# P.56 method B constants
_TIME_CONSTANT = 0.03  # s, envelope smoothing
_HANGOVER = 0.2  # s, a pause shorter than this still counts as active speech
_MARGIN_DB = 15.9  # the threshold sits this far below the active level
_BLOCK = 4096  # samples per block of the envelope filter (keeps g**-n far from overflow)


def _smooth(x: numpy.ndarray, g: float) -> numpy.ndarray:
    """y[n] = g*y[n-1] + (1-g)*x[n], block by block in closed form (no per-sample Python loop)."""
    import numpy as np

    out = np.empty_like(x)
    state = 0.0
    n = np.arange(_BLOCK)
    up, down = g ** (-n - 1.0), g ** (n + 1.0)
    for start in range(0, x.size, _BLOCK):
        block = x[start:start + _BLOCK]
        k = block.size
        out[start:start + k] = down[:k] * (state + (1 - g) * np.cumsum(block * up[:k]))
        state = float(out[start + k - 1])
    return out


def active_speech_level(samples: numpy.ndarray, rate: int) -> float:
    """The P.56 active speech level in dBov of float samples at full scale 1.0; -inf for silence."""
    import numpy as np

    x = np.asarray(samples, dtype=np.float64)
    energy = float(np.sum(x * x))
    if x.size == 0 or energy == 0.0:
        return float("-inf")
    g = float(np.exp(-1.0 / (rate * _TIME_CONSTANT)))
    # the envelope changes over tens of ms: judged every millisecond, activity is the same to within 0.01 dB
    # and the threshold walk costs an eighth (it is most of the work)
    step = max(1, rate // 1000)
    envelope = _smooth(_smooth(np.abs(x), g), g)[::step]
    hangover = int(_HANGOVER * rate) // step
    index = np.arange(envelope.size)
    thresholds = 2.0 ** np.arange(-16, 1)  # -96 dB up to full scale, 6 dB apart
    levels, margins = [], []
    for c in thresholds:
        above = envelope >= c
        if not above.any():
            break
        # active: above the threshold, or within the hangover after the last sample that was
        last = np.maximum.accumulate(np.where(above, index, -hangover - 1))
        active = min(x.size, step * int(np.count_nonzero(index - last <= hangover)))
        level = 10 * np.log10(energy / active)
        levels.append(level)
        margins.append(level - 20 * np.log10(c))
    # the level where (active level - threshold) falls through the margin, interpolated between thresholds
    for j in range(1, len(margins)):
        if margins[j] <= _MARGIN_DB <= margins[j - 1]:
            span = margins[j - 1] - margins[j]
            t = 0.0 if span == 0 else (margins[j - 1] - _MARGIN_DB) / span
            return float(levels[j - 1] + t * (levels[j] - levels[j - 1]))
    return float(levels[-1] if margins and margins[-1] > _MARGIN_DB else levels[0])


def normalise(pcm: bytes, rate: int, target_dbov: float = TARGET_DBOV) -> bytes:
    """S16LE speech at `target_dbov` active speech level, soft-limited below the ceiling, after the lead-in."""
    import numpy as np

    x = np.frombuffer(pcm[:len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64) / 32768
    level = active_speech_level(x, rate)
    if np.isfinite(level):
        x = x * 10 ** ((target_dbov - level) / 20)
        loud = np.abs(x) > CEILING
        if loud.any():  # a soft knee above the ceiling: rare peaks rounded, not clipped into distortion
            over = (np.abs(x[loud]) - CEILING) / (1 - CEILING)
            x[loud] = np.sign(x[loud]) * (CEILING + (1 - CEILING) * np.tanh(over))
    lead = np.zeros(int(LEAD_IN_SECONDS * rate))
    out = np.concatenate((lead, x))
    return (np.clip(out, -1, 32767 / 32768) * 32768).round().astype("<i2").tobytes()
