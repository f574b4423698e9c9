"""Lending a line's serial port: the borrower waits for it, the line's worker holds still until it is back.

A V.253 voice session (AT+VTX/AT+VRX) owns the port for seconds at a time, and while it does every byte is
sound, not AT text. The worker hands the port over between two jobs, so no AT command is in flight, and
waits until the borrower gives it back, so health polls and queued commands wait too.
"""

from __future__ import annotations

import threading
from typing import Any

from appliance.modem.at import ModemError


class Lease:
    """One borrow(); its state is asked -> lent -> returned, or refused (line down) / gone (gave up)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._cond = threading.Condition()
        self._state = "asked"
        self._port: Any = None
        self._why = ""

    # --- the worker's side ---------------------------------------------------------------

    def offer(self, port: Any) -> bool:
        """Hand the port over; False when the borrower stopped waiting (nothing to hold for)."""
        with self._cond:
            if self._state != "asked":
                return False
            self._state, self._port = "lent", port
            self._cond.notify_all()
            return True

    def hold(self) -> None:
        """Block until the borrower gives the port back."""
        with self._cond:
            self._cond.wait_for(lambda: self._state == "returned")

    def refuse(self, why: str) -> None:
        """The port cannot be lent (the line went down before the worker got to it)."""
        with self._cond:
            if self._state == "asked":
                self._state, self._why = "refused", why
                self._cond.notify_all()

    # --- the borrower's side -------------------------------------------------------------

    def take(self, timeout: float) -> Any:
        with self._cond:
            self._cond.wait_for(lambda: self._state != "asked", timeout)
            if self._state == "lent":
                return self._port
            if self._state == "refused":
                raise ModemError(f"{self.name}: cannot lend the port: {self._why}")
            self._state = "gone"
        raise ModemError(f"{self.name}: the port was not free within {timeout:g} s (a command still runs)")

    def give_back(self) -> None:
        with self._cond:
            self._state, self._port = "returned", None
            self._cond.notify_all()


def lend(channel: Any, lease: Lease) -> None:
    """The worker's job for one borrow(): park the reader, hand the port over, hold until it is back."""
    if channel is None:
        lease.refuse("the port is not open")
        return
    try:
        with channel.lend() as port:
            if lease.offer(port):
                lease.hold()
    except ModemError as exc:
        lease.refuse(str(exc))
        raise
