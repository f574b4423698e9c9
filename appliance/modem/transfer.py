"""Handing a call on: GSM call deflection while it rings, explicit call transfer (or a conference) once
answered. A part of the call's Dialling (dialling.py); Calls (calls.py) owns the state, which moves through its
table."""

from __future__ import annotations

import threading
from collections.abc import Callable

from appliance.core.events import TransferResult
from appliance.modem import call_states as cs
from appliance.modem.at import ModemError
from appliance.modem.line_handle import LineHandle


class CallTransfer:
    """Hands the line's call on, on the worker, through the call's handle (line_handle.py); `forget()` tells the
    call that its end, once deflected, is not the caller hanging up."""

    def __init__(self, line: LineHandle, forget: Callable[[], None]) -> None:
        self.line = line
        self._forget = forget
        self._lock = threading.Lock()
        self._number: str | None = None  # the number being transferred to now (the worker's)
        self._called_off: str | None = None  # why the core called that transfer off (the loop's)

    def call_off(self, number: str, reason: str) -> None:
        """The loop's thread: stop waiting for the second leg of the transfer to `number`, if one is under way;
        the caller is taken back. A transfer already joined (or not begun) is left alone."""
        with self._lock:
            if self._number == number:
                self._called_off = reason
        self.line.news.set()

    def transfer(self, number: str) -> None:
        with self._lock:
            self._number, self._called_off = number, None
        try:
            self._transfer(number)
        finally:
            with self._lock:
                self._number = self._called_off = None

    def _transfer(self, number: str) -> None:
        state = self.line.state()
        if not self.line.dialect().gsm:
            self._result(number, False, "an analogue (V.253) line cannot transfer calls")
        elif state in (cs.RINGING, cs.REFUSED):
            self._deflect(number)
        elif state == cs.ACTIVE:
            self._explicit_transfer(number)
        else:
            self._result(number, False, f"no call to transfer (the line is {state})")

    def _result(self, number: str, ok: bool, reason: str | None = None) -> None:
        self.line.post(TransferResult(self.line.line_id, number, ok, reason))

    def _deflect(self, number: str) -> None:
        """GSM call deflection (27.007 +CTFR): the ringing call goes to `number`, we never answer it."""
        reply = self.line.command(f'AT+CTFR="{number}"', timeout=10.0)
        if not reply.ok:
            self._result(number, False, f"the network refused call deflection: {reply.final}")
            return
        self._forget()
        self._result(number, True)

    def _explicit_transfer(self, number: str) -> None:
        self.line.go(cs.TRANSFER)
        self.line.expect()
        try:
            ok, reason = self._hand_over(number)
        except ModemError as exc:
            self._result(number, False, f"failed: {exc}")
            self.line.go(cs.TRANSFER_BACK)
            raise
        self._result(number, ok, reason)

    def _hand_over(self, number: str) -> tuple[bool, str | None]:
        """Hold the caller, dial `number`, and once it answers join the two (AT+CHLD=4, explicit call
        transfer); a network without ECT gets a three-way conference (AT+CHLD=3) instead."""
        command, go = self.line.command, self.line.go
        reply = command("AT+CHLD=2", timeout=10.0)
        if not reply.ok:
            go(cs.TRANSFER_BACK)
            return False, f"the network refused to hold the call: {reply.final}"
        outcome = self.line.dial_leg(number, self._called_off_why)
        if outcome == "caller gone":
            self.line.hangup()
            go(cs.ENDED, "caller hung up")
            return False, "the caller hung up during the transfer"
        if outcome != "answered":
            command("AT+CHLD=1", timeout=10.0)  # drop the second leg, take the caller back
            go(cs.TRANSFER_BACK)
            return False, outcome
        if command("AT+CHLD=4", timeout=10.0).ok:
            go(cs.TRANSFER_DONE)
            return True, None
        if command("AT+CHLD=3", timeout=10.0).ok:
            go(cs.TRANSFER_BACK)
            return True, "conference: the network refused explicit call transfer, so the line stays in a " \
                         "three-way call until it is hung up"
        command("AT+CHLD=1", timeout=10.0)
        go(cs.TRANSFER_BACK)
        return False, "the network refused both explicit call transfer and a conference"

    def _called_off_why(self) -> str | None:
        with self._lock:
            return f"called off: {self._called_off}" if self._called_off is not None else None
