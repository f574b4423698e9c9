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
        # Transfers asked for and still queued behind the worker's other commands: number -> why one was called
        # off before it began (None: not called off). Each ask resets its entry, so an old one never lingers.
        self._asked: dict[str, str | None] = {}

    def asked(self, number: str) -> None:
        """The loop's thread: a transfer to `number` is queued for the worker (it may be called off before it
        begins)."""
        with self._lock:
            self._asked[number] = None

    def call_off(self, number: str, reason: str) -> None:
        """The loop's thread: the transfer to `number` stops at whatever point it is before the join: still queued
        (it never begins), holding the caller or dialling (nothing more is dialled), or the second leg answered (it
        is dropped): the caller is taken back. A transfer already joined is left alone."""
        with self._lock:
            if self._number == number:
                self._called_off = reason
            elif number in self._asked:
                self._asked[number] = reason
        self.line.news.set()

    def transfer(self, number: str) -> None:
        with self._lock:
            self._number, self._called_off = number, self._asked.pop(number, None)
        try:
            self._transfer(number)
        finally:
            with self._lock:
                self._number = self._called_off = None

    def _transfer(self, number: str) -> None:
        state = self.line.state()
        if (why := self._called_off_why()) is not None:  # called off while it waited behind other commands
            self._result(number, False, why)
        elif not self.line.dialect().gsm:
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
        # Called off while the caller was being held: nobody is dialled (AT+CHLD=1 takes the held caller back).
        outcome = self._called_off_why() or self.line.dial_leg(number, self._called_off_why)
        if outcome == "caller gone":
            self.line.hangup()
            go(cs.ENDED, "caller hung up")
            return False, "the caller hung up during the transfer"
        if outcome == "answered" and (why := self._called_off_why()) is not None:
            outcome = why  # called off as the second leg answered: it is dropped, not joined
        if outcome != "answered":
            command("AT+CHLD=1", timeout=10.0)  # drop the second leg, take the caller back
            go(cs.TRANSFER_BACK)
            return False, outcome
        if command("AT+CHLD=4", timeout=10.0).ok:
            go(cs.TRANSFER_DONE)
            return True, None
        if self._called_off_why() is None and command("AT+CHLD=3", timeout=10.0).ok:  # called off: no conference
            go(cs.TRANSFER_BACK)
            return True, "conference: the network refused explicit call transfer, so the line stays in a " \
                         "three-way call until it is hung up"
        command("AT+CHLD=1", timeout=10.0)
        go(cs.TRANSFER_BACK)
        return False, self._called_off_why() or "the network refused both explicit call transfer and a conference"

    def _called_off_why(self) -> str | None:
        with self._lock:
            return f"called off: {self._called_off}" if self._called_off is not None else None
