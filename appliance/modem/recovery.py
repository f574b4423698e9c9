"""A line's failures and its way back: marked down with the reason, reopened with backoff, power-cycled.

A mixin of ModemLine: the seam is "the line in service" (line.py) versus "the line out of service" (here).
"""

from __future__ import annotations

import logging
import queue

from appliance.core.events import LineDown, LineUp
from appliance.modem.at import ModemError

log = logging.getLogger("appliance.modem.line")


class LineRecovery:
    def _on_lost(self, reason: str) -> None:
        self._fail(f"port {self.port} lost: {reason}")

    def _fail(self, reason: str) -> None:
        with self._lock:
            if self._fault is not None or self._closing.is_set():
                return
            self._fault = reason
            self._state = "down"
        log.warning("line %s down: %s", self.line_id, reason)
        self.calls.drop(reason)
        self._post(LineDown(self.line_id, reason))
        self._later(lambda: None)  # wakes the worker into recovery

    def _set_up(self) -> None:
        with self._lock:
            self._fault = None
            self._state = "up"
        if self._alarm is None:
            self._post(LineUp(self.line_id))
        else:
            self._post(LineDown(self.line_id, self._alarm))

    def _set_alarm(self, problem: str | None) -> None:
        with self._lock:
            was, self._alarm = self._alarm, problem
        if self._state != "up" or was == problem:
            return
        if problem and self.calls.state not in ("idle", "down"):
            # LineDown closes the call in the core: it must not stay up in the modem, a caller in silence.
            self.calls.forget()
            self._later(self.calls.hangup)
        self._post(LineDown(self.line_id, problem) if problem else LineUp(self.line_id))

    def _recover(self) -> None:
        """Reopen and re-initialise with backoff; pulse the power key when the modem stays silent."""
        attempt = 0
        first_reason = self._fault
        while not self._closing.is_set():
            self._drop_queued_jobs()
            if self._channel is not None:
                self._channel.close()
                self._channel = None
            try:
                self._open()
                reason = self._initialise()
            except ModemError as exc:
                reason = str(exc)
            if reason is None:
                self.recoveries += 1
                log.info("line %s back in service after %d attempt(s)", self.line_id, attempt + 1)
                self._set_up()
                return
            attempt += 1
            silent = self._channel is not None and self._channel.lost is None
            if silent and self._power_cycle is not None and attempt % 3 == 1:
                log.warning("line %s: power-cycling the modem", self.line_id)
                try:
                    self._power_cycle()
                except Exception:  # noqa: BLE001 - a broken GPIO must not end recovery
                    log.exception("line %s: power cycle failed", self.line_id)
                reason = f"{reason} (power-cycled)"
            with self._lock:
                self._fault = f"{first_reason}; now: {reason}" if reason != first_reason else reason
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
                job.abandon(f"line down: {self._fault}")
