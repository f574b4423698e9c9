"""Ring cadences: how long a handset rings and rests, in turn."""

from __future__ import annotations

import math
from collections.abc import Sequence

# on, off, on, off ... seconds; the UK double ring is two short bursts then a rest.
CADENCES: dict[str, tuple[float, ...]] = {"ru": (1.0, 4.0), "na": (2.0, 4.0), "uk": (0.4, 0.2, 0.4, 2.0)}


def resolve_cadence(name: str, custom: Sequence[float] | None = None) -> tuple[float, ...]:
    """The cadence called `name` (a preset, or "custom" with `custom` given)."""
    if name == "custom":
        if custom is None:
            raise ValueError('cadence "custom" needs a list of on/off seconds (ringing.custom)')
        return check_cadence(custom)
    if name not in CADENCES:
        raise ValueError(f"unknown ring cadence {name!r}: use one of {', '.join(CADENCES)} or custom")
    return CADENCES[name]


def check_cadence(cadence: Sequence[float]) -> tuple[float, ...]:
    """`cadence` as a tuple of on/off pairs in seconds, or ValueError naming the bad value."""
    if isinstance(cadence, str | bytes) or not isinstance(cadence, Sequence):
        raise ValueError(f"ring cadence must be a list of seconds, not {cadence!r}")
    if not cadence or len(cadence) % 2:
        raise ValueError(f"ring cadence {list(cadence)!r} must list on/off pairs (an even number of values)")
    for seconds in cadence:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError(f"ring cadence value {seconds!r} is not a number of seconds")
        if not math.isfinite(seconds) or seconds <= 0 or seconds > 60:
            raise ValueError(f"ring cadence value {seconds!r} must be more than 0 and at most 60 seconds")
    return tuple(float(s) for s in cadence)
