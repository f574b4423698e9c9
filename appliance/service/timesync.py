"""The machine's clocks, whether its wall clock is synchronised, and what the daemon does when it is set or steps.

appliance/core/clock.py says why it matters.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.clock import BoxClock

if TYPE_CHECKING:
    from ..core.switchboard import Switchboard
    from .alarms import Alarms
    from .keeper import RecordKeeper

log = logging.getLogger(__name__)

TIMESYNC_FILE = Path("/run/systemd/timesync/synchronized")  # systemd-timesyncd creates it once synchronised
STA_UNSYNC = 0x0040  # adjtimex status bit: the kernel's clock is not synchronised
TIME_ERROR = 5  # adjtimex's return value when the clock is not synchronised
CLOCK_STEP = 3600.0  # seconds: a wall-clock step beyond this holds retention for a day
DAY = 86400.0


class SystemTime:
    """The machine's own clocks; synchronised once systemd-timesyncd says so, or the kernel's NTP status does.

    `synced_file` is injectable (HOTLINE_TIMESYNC_FILE in the environment, for tests and the faults bench);
    `kernel=False` leaves the adjtimex status out, which a container inherits from its host.
    """

    def __init__(self, synced_file: str | Path | None = None, *, kernel: bool | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        injected = os.environ.get("HOTLINE_TIMESYNC_FILE")
        self.synced_file = Path(synced_file or injected or TIMESYNC_FILE)
        self.kernel = kernel if kernel is not None else not (synced_file or injected)
        self.wall = wall
        self.monotonic = time.monotonic

    def synced(self) -> bool:
        return self.synced_file.exists() or (self.kernel and _kernel_synced())


def _kernel_synced() -> bool:
    """adjtimex(2) with modes 0 only reads: STA_UNSYNC clear means an NTP daemon disciplines the clock."""
    import ctypes  # only on a box whose time sync is not systemd-timesyncd (its file answers first)

    buffer = ctypes.create_string_buffer(512)  # struct timex is 208 bytes on 64-bit Linux; zeroed modes = read
    try:
        state = ctypes.CDLL(None, use_errno=True).adjtimex(buffer)  # libc, already loaded in this process
    except (AttributeError, OSError):
        return False
    # struct timex: unsigned int modes; long offset, freq, maxerror, esterror; int status (after 5 longs' room).
    at = 5 * ctypes.sizeof(ctypes.c_long)
    status = int.from_bytes(buffer.raw[at:at + 4], sys.byteorder, signed=True)
    return state not in (-1, TIME_ERROR) and not status & STA_UNSYNC


class ClockWatch:
    """The daemon's eye on its wall clock: the moment it is set, and any step after that.

    Set: the records made so far (and the calls in progress) move to the true time, then retention runs.
    Stepped by more than CLOCK_STEP: retention waits a day rather than judge ages by a clock that just jumped.
    """

    def __init__(self, clock: BoxClock, keeper: RecordKeeper, core: Switchboard, alarms: Alarms) -> None:
        self.clock, self.keeper, self.core, self.alarms = clock, keeper, core, alarms
        self._offset: float | None = None  # wall minus monotonic while the time is known
        self._step_alarm_until: float | None = None

    def check(self) -> None:
        delta = self.clock.settle()
        if delta is not None:
            log.warning("the clock is set: it was %+.0f s off", delta)
            self.keeper.clock_set()
            self.core.restamp(delta)
            self.alarms.restamp(delta)
            self.alarms.clear("clock.unset")
        if not self.clock.synced():
            self.alarms.set("clock.unset", "warning", "clock not set: the time is not synchronised yet, so calls "
                            f"follow [schedule] when_time_unknown = {self.core.schedule.when_time_unknown!r}, "
                            "retention waits, and records are stamped provisionally until the time is set")
            return
        now = self.clock.monotonic()
        offset = self.clock.wall() - now
        if self._offset is not None and abs(offset - self._offset) > CLOCK_STEP:
            self.keeper.clock_stepped(offset - self._offset)
            self._step_alarm_until = now + DAY
            self.alarms.set("clock.step", "warning", f"the wall clock jumped by {(offset - self._offset) / DAY:+.1f} "
                            "days; retention waits a day rather than judge ages by it")
        elif self._step_alarm_until is not None and now >= self._step_alarm_until:
            self._step_alarm_until = None
            self.alarms.clear("clock.step")
        self._offset = offset
