"""Time as the box sees it: a monotonic clock for every wait, the wall clock only for stamps and the schedule.

A Pi has no real-time clock: it boots in the past and NTP later steps the wall clock by years. So
nothing the box waits for reads the wall clock, and until the wall clock is known to be synchronised
the box stamps records from the monotonic clock with one fixed offset, which it corrects once the
time is set (`BoxClock.settle`).
"""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    """What the core reads: monotonic seconds for waiting, epoch seconds for stamps, and whether those are true."""

    def monotonic(self) -> float: ...

    def wall(self) -> float: ...

    def synced(self) -> bool: ...


class BoxClock:
    """The clock the daemon hands to the core and the records.

    Until `source` is synchronised, `wall()` is the monotonic clock plus the offset the wall clock had at
    start, so a step while unsynchronised moves no stamp and every stamp made meanwhile is off by one and
    the same amount; `settle()` returns that amount once the time is set.
    """

    def __init__(self, source: Clock) -> None:
        self.source = source
        self.known = bool(source.synced())
        self.provisional_offset = source.wall() - source.monotonic()
        self.started = source.monotonic()

    def monotonic(self) -> float:
        return self.source.monotonic()

    def wall(self) -> float:
        return self.source.wall() if self.known else self.source.monotonic() + self.provisional_offset

    def synced(self) -> bool:
        return self.known

    def settle(self) -> float | None:
        """Seconds to add to every stamp made so far, the moment the wall clock becomes known; else None."""
        if self.known or not self.source.synced():
            return None
        self.known = True
        return (self.source.wall() - self.source.monotonic()) - self.provisional_offset

    @property
    def first_stamp(self) -> float:
        """The earliest provisional stamp this clock could have made (it was made at start)."""
        return self.started + self.provisional_offset


class FakeClock:
    """A clock that only moves when told to: `advance` moves both clocks, `jump` (or `now += x`) only the wall."""

    def __init__(self, start: float = 1_700_000_000.0, *, synced: bool = True) -> None:
        self.now = start  # the wall clock, epoch seconds
        self.mono = start  # the monotonic clock; starting equal keeps a test's arithmetic simple
        self.is_synced = synced

    def __call__(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> float:
        return self.now

    def synced(self) -> bool:
        return self.is_synced

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds

    def jump(self, seconds: float) -> None:
        """The wall clock is stepped (NTP, an admin, a battery-less boot): no time passes."""
        self.now += seconds
