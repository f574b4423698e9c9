"""Handing a call on: GSM call deflection while it rings, explicit call transfer (or a conference) once
answered. A part of Calls (calls.py), which owns the state; the states move through its table."""

from __future__ import annotations

import threading
from collections.abc import Callable

from appliance.core.events import TransferResult
from appliance.modem import call_states as cs
from appliance.modem.at import CALL_FINALS, ModemError, Reply
from appliance.modem.dialects import Dialect
from appliance.modem.dialects.base import fields

TRANSFER_POLL = 1.0  # how often AT+CLCC is asked while the second leg of a transfer rings
ATD_TIMEOUT = 20.0  # ATD itself returns at once (the call goes on in the network) or with the failure


def dial_failure(text: str) -> str:
    """The DialFailed reason for an ATD final result or a call-end report."""
    said = text.lower()
    for reason in ("busy", "no answer", "no dialtone"):
        if reason in said:
            return reason
    if "error" in said:
        return f"failed: {text}"
    return "no carrier"


def clcc_calls(reply: Reply) -> list[tuple[int, int, int]]:
    """(id, direction, state) of each voice call in an AT+CLCC reply (27.007: dir 0 = ours; stat 0 active,
    1 held, 2 dialling, 3 alerting, 4 incoming, 5 waiting)."""
    calls = []
    for line in reply.lines:
        parts = fields(line.removeprefix("+CLCC:").strip()) if line.startswith("+CLCC:") else []
        if len(parts) >= 4 and parts[3] == "0" and all(p.isdigit() for p in parts[:3]):
            calls.append((int(parts[0]), int(parts[1]), int(parts[2])))
    return calls


class CallTransfer:
    """Hands the line's call on, on the worker. Calls gives it the call's `state()`, its table (`go(event, why)`
    moves the state and returns the modem effects) and its hang-up; the call reports a transfer waits on
    come in through `heard`."""

    def __init__(self, line_id: str, *, post: Callable[[object], None], command: Callable[..., Reply],
                 dialect: Callable[[], Dialect], clock: Callable[[], float], dial_timeout: float,
                 state: Callable[[], str], go: Callable[..., list[str]], hangup: Callable[[], None],
                 forget: Callable[[], None]) -> None:
        self.line_id = line_id
        self._post = post
        self._command = command
        self._dialect = dialect
        self._clock = clock
        self.dial_timeout = dial_timeout
        self._state = state
        self._go = go
        self._hangup = hangup
        self._forget = forget
        self._news = threading.Event()  # a call report came while a transfer waits on the network
        self._last_end = "no carrier"
        self._lock = threading.Lock()
        self._number: str | None = None  # the number being transferred to now (the worker's)
        self._called_off: str | None = None  # why the core called that transfer off (the loop's)

    def heard(self, end: str | None = None) -> None:
        """A call report while transferring (reader thread): a leg answered (None) or one ended (its reason)."""
        if end is not None:
            self._last_end = end
        self._news.set()

    def call_off(self, number: str, reason: str) -> None:
        """The loop's thread: stop waiting for the second leg of the transfer to `number`, if one is under way;
        the caller is taken back. A transfer already joined (or not begun) is left alone."""
        with self._lock:
            if self._number == number:
                self._called_off = reason
        self._news.set()

    def transfer(self, number: str) -> None:
        with self._lock:
            self._number, self._called_off = number, None
        try:
            self._transfer(number)
        finally:
            with self._lock:
                self._number = self._called_off = None

    def _transfer(self, number: str) -> None:
        state = self._state()
        if not self._dialect().gsm:
            self._result(number, False, "an analogue (V.253) line cannot transfer calls")
        elif state in (cs.RINGING, cs.REFUSED):
            self._deflect(number)
        elif state == cs.ACTIVE:
            self._explicit_transfer(number)
        else:
            self._result(number, False, f"no call to transfer (the line is {state})")

    def _result(self, number: str, ok: bool, reason: str | None = None) -> None:
        self._post(TransferResult(self.line_id, number, ok, reason))

    def _deflect(self, number: str) -> None:
        """GSM call deflection (27.007 +CTFR): the ringing call goes to `number`, we never answer it."""
        reply = self._command(f'AT+CTFR="{number}"', timeout=10.0)
        if not reply.ok:
            self._result(number, False, f"the network refused call deflection: {reply.final}")
            return
        self._forget()
        self._result(number, True)

    def _explicit_transfer(self, number: str) -> None:
        self._go(cs.TRANSFER)
        self._news.clear()
        self._last_end = "no carrier"
        try:
            ok, reason = self._hand_over(number)
        except ModemError as exc:
            self._result(number, False, f"failed: {exc}")
            self._go(cs.TRANSFER_BACK)
            raise
        self._result(number, ok, reason)

    def _hand_over(self, number: str) -> tuple[bool, str | None]:
        """Hold the caller, dial `number`, and once it answers join the two (AT+CHLD=4, explicit call
        transfer); a network without ECT gets a three-way conference (AT+CHLD=3) instead."""
        reply = self._command("AT+CHLD=2", timeout=10.0)
        if not reply.ok:
            self._go(cs.TRANSFER_BACK)
            return False, f"the network refused to hold the call: {reply.final}"
        reply = self._command(self._dialect().dial_command(number), timeout=ATD_TIMEOUT, finals=CALL_FINALS)
        outcome = self._second_leg() if reply.ok else dial_failure(reply.final)
        if outcome == "caller gone":
            self._hangup()
            self._go(cs.ENDED, "caller hung up")
            return False, "the caller hung up during the transfer"
        if outcome != "answered":
            self._command("AT+CHLD=1", timeout=10.0)  # drop the second leg, take the caller back
            self._go(cs.TRANSFER_BACK)
            return False, outcome
        if self._command("AT+CHLD=4", timeout=10.0).ok:
            self._go(cs.TRANSFER_DONE)
            return True, None
        if self._command("AT+CHLD=3", timeout=10.0).ok:
            self._go(cs.TRANSFER_BACK)
            return True, "conference: the network refused explicit call transfer, so the line stays in a " \
                         "three-way call until it is hung up"
        self._command("AT+CHLD=1", timeout=10.0)
        self._go(cs.TRANSFER_BACK)
        return False, "the network refused both explicit call transfer and a conference"

    def _second_leg(self) -> str:
        """'answered', 'caller gone', or the DialFailed reason for the number dialled."""
        deadline = self._clock() + self.dial_timeout
        while self._clock() < deadline:
            self._news.wait(TRANSFER_POLL)
            self._news.clear()
            with self._lock:
                if self._called_off is not None:
                    return f"called off: {self._called_off}"
            calls = clcc_calls(self._command("AT+CLCC", expect="+CLCC:"))
            if not any(stat == 1 for _, _, stat in calls):
                return "caller gone"
            ours = [stat for _, direction, stat in calls if direction == 0 and stat != 1]
            if 0 in ours:
                return "answered"
            if not ours:
                return dial_failure(self._last_end)
        return "no answer"
