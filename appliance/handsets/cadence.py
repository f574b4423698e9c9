"""Ring cadences: how long a handset rings and rests, in turn."""

from __future__ import annotations

import math

# on, off, on, off ... seconds; the UK double ring is two short bursts then a rest.
CADENCES: dict[str, tuple[float, ...]] = {"ru": (1.0, 4.0), "na": (2.0, 4.0), "uk": (0.4, 0.2, 0.4, 2.0)}
# Each part, in seconds. Below 0.05 s a ring relay (it takes 5-15 ms to pull in) and a 20-25 Hz ringer (one
# cycle is 40-50 ms) make a click, not a ring; above 30 s one part is a ring that never pauses, or a pause in
# which an operator would think the ringing had stopped.
CADENCE_PART = (0.05, 30.0)


def check_cadence(cadence: object) -> tuple[float, ...]:
    """On, off, on, off ... seconds as a tuple: pairs, each part within CADENCE_PART; ValueError otherwise."""
    low, high = CADENCE_PART
    if not isinstance(cadence, list | tuple) or not cadence or len(cadence) % 2 or not all(
            isinstance(part, int | float) and not isinstance(part, bool) and math.isfinite(part)
            and low <= part <= high for part in cadence):
        raise ValueError(f"needs an even list of on/off seconds between {low:g} and {high:g}")
    return tuple(float(part) for part in cadence)
