"""Call-progress tones the caller hears, generated per country instead of shipped as recordings.

Frequencies and cadences follow ITU-T E.180 (Supplement 2, "Various tones used in national networks").
`tone()` returns one cadence cycle; the player loops it for as long as the tone should sound.

Rendering is a Python loop over every sample (8-47 ms here for a ringback cycle, about ten times that on a Pi
Zero), and the start needs its tones before READY=1: with `cache` (the prompt cache) a tone is rendered once
and kept there under a name made of what shapes it (the cadence, the rate, RENDER_VERSION), with its SHA-256
beside it as the prompts have; a restart reads it back. A file that does not match is rendered again.
"""

from __future__ import annotations

import logging
import math
import sys
from array import array
from functools import lru_cache
from pathlib import Path

from ..digest import sha256
from ..files import atomic_write

log = logging.getLogger(__name__)

RENDER_VERSION = "1"  # change it with _render: the cached tones are then rendered again

# One step of a cadence: the frequencies sounding together (none = silence) and for how long.
Step = tuple[tuple[float, ...], float]

KINDS = ("ringback", "busy", "congestion", "beep")

# A record-after-the-tone beep is not country-specific; 1 kHz cuts through GSM codecs cleanly.
_BEEP: tuple[Step, ...] = (((1000.0,), 0.3),)


def _on_off(freqs: tuple[float, ...], *seconds: float) -> tuple[Step, ...]:
    return tuple((freqs if i % 2 == 0 else (), s) for i, s in enumerate(seconds))


_PLANS: dict[str, dict[str, tuple[Step, ...]]] = {
    # E.180's recommended values, for countries without an entry of their own.
    "default": {
        "ringback": _on_off((425.0,), 1.0, 4.0),
        "busy": _on_off((425.0,), 0.5, 0.5),
        "congestion": _on_off((425.0,), 0.25, 0.25),
    },
    "ru": {
        "ringback": _on_off((425.0,), 0.8, 3.2),
        "busy": _on_off((425.0,), 0.4, 0.4),
        "congestion": _on_off((425.0,), 0.175, 0.175),
    },
    "us": {
        "ringback": _on_off((440.0, 480.0), 2.0, 4.0),
        "busy": _on_off((480.0, 620.0), 0.5, 0.5),
        "congestion": _on_off((480.0, 620.0), 0.25, 0.25),
    },
    "uk": {
        "ringback": _on_off((400.0, 450.0), 0.4, 0.2, 0.4, 2.0),
        "busy": _on_off((400.0,), 0.375, 0.375),
        "congestion": _on_off((400.0,), 0.4, 0.35, 0.225, 0.525),
    },
    "de": {
        "ringback": _on_off((425.0,), 1.0, 4.0),
        "busy": _on_off((425.0,), 0.48, 0.48),
        "congestion": _on_off((425.0,), 0.24, 0.24),
    },
    "fr": {
        "ringback": _on_off((440.0,), 1.5, 3.5),
        "busy": _on_off((440.0,), 0.5, 0.5),
        "congestion": _on_off((440.0,), 0.25, 0.25),
    },
}
for _plan in _PLANS.values():
    _plan["beep"] = _BEEP

# Other names the configuration uses for the same tone plans ("na" is the ringing cadence's name).
_ALIASES = {"na": "us", "ca": "us", "gb": "uk", "at": "de"}

COUNTRIES = tuple(sorted({*_PLANS, *_ALIASES}))

# Peak per component: -10 dBFS for a single tone, -13 dBFS each for a pair, so a pair peaks near -7 dBFS.
_SINGLE = 0.316
_PAIR = 0.224
# Linear fade at each burst edge; a hard edge clicks audibly on a handset earpiece.
_RAMP_SECONDS = 0.005


def plan(kind: str, country: str) -> tuple[Step, ...]:
    """The cadence steps of a tone: ((frequencies, seconds), ...); silence has no frequencies."""
    key = country.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _PLANS:
        raise ValueError(f"unknown tone country {country!r}; known: {', '.join(COUNTRIES)}")
    if kind not in _PLANS[key]:
        raise ValueError(f"unknown tone kind {kind!r}; known: {', '.join(KINDS)}")
    return _PLANS[key][kind]


def tone(kind: str, country: str, rate: int = 8000, cache: Path | None = None) -> bytes:
    """One cadence cycle of a call-progress tone as raw signed 16-bit little-endian mono PCM (kept in `cache`)."""
    steps = plan(kind, country)
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise ValueError(f"tone rate must be a positive integer, got {rate!r}")
    top = max(f for freqs, _ in steps for f in freqs)
    if top * 2 >= rate:
        raise ValueError(f"tone rate {rate} Hz is too low for the {top:g} Hz of the {country} {kind} tone")
    if cache is None:
        return _render(steps, rate)
    path = cache / f"tone-{sha256(repr((RENDER_VERSION, rate, steps)).encode()).hexdigest()[:40]}.raw"
    checksum = path.with_name(path.name + ".sha256")
    try:
        pcm = path.read_bytes()
        if sha256(pcm).hexdigest() == checksum.read_text(encoding="ascii").strip():
            return pcm
    except (OSError, ValueError):
        pass  # not made yet, or cut short: rendered again
    pcm = _render(steps, rate)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        atomic_write(path, pcm, mode=0o644)
        atomic_write(checksum, sha256(pcm).hexdigest() + "\n", mode=0o644)
    except OSError as exc:  # a full or read-only disk: the tone plays from memory all the same
        log.warning("tone %s could not be kept in %s (%s): rendered at each start", kind, cache, exc.strerror or exc)
    return pcm


@lru_cache(maxsize=64)
def _render(steps: tuple[Step, ...], rate: int) -> bytes:
    out = array("h")
    for freqs, seconds in steps:
        count = round(seconds * rate)
        if not freqs:
            out.frombytes(bytes(count * 2))
            continue
        amplitude = 32767 * (_SINGLE if len(freqs) == 1 else _PAIR)
        steps_rad = [2 * math.pi * f / rate for f in freqs]
        ramp = max(1, round(_RAMP_SECONDS * rate))
        for n in range(count):
            envelope = min(1.0, (n + 1) / ramp, (count - n) / ramp)
            out.append(round(envelope * amplitude * sum(math.sin(w * n) for w in steps_rad)))
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()
