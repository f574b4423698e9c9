"""A line's failures and its way back: marked down with the reason, reopened with backoff, power-cycled.

LineRecovery is owned by ModemLine: the seam is "the line in service" (line.py) versus "the line out of
service" (here). It holds the line's up/down state; ModemLine hands it the lock, queues and port operations.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
from collections.abc import Callable

from appliance.core.events import LineDown, LineUp
from appliance.core.lean import lean
from appliance.modem.at import ModemError
from appliance.modem.calls import Calls

log = logging.getLogger("appliance.modem.line")


@lean(frozen=True)
class Job:
    """One piece of work for the line's worker."""

    run: Callable[[], object]
    abandon: Callable[[str], None] | None = None  # posts the failure when the line goes down first


class LineRecovery:
    def __init__(self, line_id: str, port: str, *, lock: threading.Lock, closing: threading.Event,
                 post: Callable[[object], None], later: Callable[[Callable[[], None]], None], calls: Calls,
                 jobs: queue.Queue[Job | None], urgent: collections.deque[Job],
                 reopen: Callable[[], str | None], silent: Callable[[], bool],
                 power_cycle: Callable[[], None] | None) -> None:
        """`reopen` closes the port if open, opens and initialises it again (the reason in words if the modem is
        still not right, ModemError if it cannot be opened); `silent` tells the port is open yet the modem mute."""
        self.line_id = line_id
        self.port = port
        self._lock = lock  # ModemLine's: status() reads state, fault and alarm under it
        self._closing = closing
        self._post = post
        self._later = later
        self._calls = calls
        self._jobs = jobs
        self._urgent = urgent
        self._reopen = reopen
        self._silent = silent
        self._power_cycle = power_cycle
        self.state = "starting"
        self.fault: str | None = None  # the modem itself failed: recovery runs
        self.alarm: str | None = None  # the modem works but cannot carry calls (SIM, network)
        self.recoveries = 0

    def on_lost(self, reason: str) -> None:
        self.fail(f"port {self.port} lost: {reason}")

    def fail(self, reason: str) -> None:
        with self._lock:
            if self.fault is not None or self._closing.is_set():
                return
            self.fault = reason
            self.state = "down"
        log.warning("line %s down: %s", self.line_id, reason)
        self._calls.drop(reason)
        self._post(LineDown(self.line_id, reason))
        self._later(lambda: None)  # wakes the worker into recovery

    def set_up(self) -> None:
        with self._lock:
            self.fault = None
            self.state = "up"
        if self.alarm is None:
            self._post(self._up())
        else:
            self._post(LineDown(self.line_id, self.alarm))

    def set_alarm(self, problem: str | None) -> None:
        with self._lock:
            was, self.alarm = self.alarm, problem
        if self.state != "up" or was == problem:
            return
        if problem and self._calls.state not in ("idle", "down"):
            # LineDown closes the call in the core: it must not stay up in the modem, a caller in silence.
            self._calls.forget()
            self._later(self._calls.hangup)
        self._post(LineDown(self.line_id, problem) if problem else self._up())

    def _up(self) -> LineUp:
        """The modem's family is known by now: an analogue one cannot hand a caller on to another number."""
        return LineUp(self.line_id, transfers=self._calls.line.dialect().gsm)

    def recover(self) -> None:
        """Reopen and re-initialise with backoff; pulse the power key when the modem stays silent."""
        attempt = 0
        first_reason = self.fault
        while not self._closing.is_set():
            self._drop_queued_jobs()
            try:
                reason = self._reopen()
            except ModemError as exc:
                reason = str(exc)
            if reason is None:
                self.recoveries += 1
                log.info("line %s back in service after %d attempt(s)", self.line_id, attempt + 1)
                self.set_up()
                return
            attempt += 1
            if self._silent() and self._power_cycle is not None and attempt % 3 == 1:
                log.warning("line %s: power-cycling the modem", self.line_id)
                try:
                    self._power_cycle()
                except Exception:  # noqa: BLE001 - a broken GPIO must not end recovery
                    log.exception("line %s: power cycle failed", self.line_id)
                reason = f"{reason} (power-cycled)"
            with self._lock:
                self.fault = f"{first_reason}; now: {reason}" if reason != first_reason else reason
            self._closing.wait(min(0.25 * 2 ** attempt, 5.0))

    def _drop_queued_jobs(self) -> None:
        self._urgent.clear()  # an ATA for a call the failure ended
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is None:
                self._closing.set()
                return
            if job.abandon is not None:
                job.abandon(f"line down: {self.fault}")
