"""The tick every capture line reads on, so the lines' capture threads wake together.

Independent cards end their periods at their own moments, and a thread woken alone pays the wakeup and cold
caches for itself (four lines a quarter period apart cost ~40 % more CPU than four in step). A line reads its
next period at the first tick after the card has it, so the data waits in the card's buffer (less than a
period) instead of in the DTMF engine's batch, which waited for the last line anyway: no key comes later than
before. The ticks follow the last card seen ending a period (a read that waited for it), so one line alone
reads the moment its period ends.
"""

from __future__ import annotations

import math

SLACK = 8  # a read that waits more than 1/SLACK of a period waited for its card (not for the GIL)


class SharedTick:
    """The tick of every line capturing with one period: plain reads and writes of one float (atomic under the
    GIL), so the capture threads share it without a lock."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._origin = 0.0  # a moment some card ended a period

    def next_at(self, due: float) -> float:
        """The first tick at which a period due at `due` is there (or nearly: SLACK)."""
        origin = self._origin
        return origin + math.ceil((due - self.period / SLACK - origin) / self.period) * self.period

    def read(self, asked: float, ended: float) -> bool:
        """A read asked at `asked` returned at `ended`: True if it waited for its card, whose period ended then
        (the ticks follow it from now on)."""
        if ended - asked <= self.period / SLACK:
            return False
        self._origin = ended
        return True


_ticks: dict[tuple[int, int], SharedTick] = {}


def shared_tick(period_frames: int, rate: int) -> SharedTick:
    """The process's tick for lines with this period (every line of a box captures alike)."""
    return _ticks.setdefault((period_frames, rate), SharedTick(period_frames / rate))
