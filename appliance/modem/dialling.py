"""The line's outgoing calls: a number dialled for the core (a callback, an operator's call back), and the call
handed on to another number (transfer.py) or that transfer called off. A part of Calls (calls.py), beside the
answer path (answer.py): Calls owns the call's state and table, this part works through the call's handle
(line_handle.py) and takes the state through the table under the call's lock."""

from __future__ import annotations

import threading
from collections.abc import Callable

from appliance.core.events import DialFailed
from appliance.modem import call_states as cs
from appliance.modem.at import CALL_FINALS
from appliance.modem.line_handle import ATD_TIMEOUT, LineHandle
from appliance.modem.transfer import CallTransfer


class Dialling:
    """Dials and transfers on the worker. `lock` is the call's (a transition and the state it checks are one
    step), `run(effects)` carries out the modem effects the table returns, `forget()` tells the call that its
    end, once handed on, is not the caller hanging up."""

    def __init__(self, line: LineHandle, *, lock: threading.RLock, run: Callable[[list[str]], None],
                 forget: Callable[[], None]) -> None:
        self.line = line
        self._lock = lock
        self._run = run
        self._transfer = CallTransfer(line, forget=forget)
        self.asked = False  # dial() is at its fence, before the dial begins
        self.deadline = 0.0  # the dialled number rings until then (the line's worker ends it: tick)

    def dial(self, number: str) -> None:
        # A fence: the reports of the line's last call (the end of a leg we just hung up: SIMCom and Huawei report it
        # after ATH's OK) are read before this AT's OK, so none of them is taken for this dial's end.
        # A line failing meanwhile (the fence's own write may be what fails) fails the dial too (dropped).
        self.asked = True
        try:
            self.line.command("AT")
        finally:
            self.asked = False
        with self._lock:
            busy = self.line.state() != cs.IDLE
            if not busy:
                self.line.go(cs.DIAL)  # before ATD: the answer may be reported before its OK
                self.deadline = self.line.clock() + self.line.dial_timeout
        if busy:
            self.line.post(DialFailed(self.line.line_id, "failed: the line is busy with another call"))
            return
        # A modem that fails here fails the line, and PORT_LOST posts the DialFailed.
        reply = self.line.command(self.line.dialect().dial_command(number), timeout=ATD_TIMEOUT,
                                  finals=CALL_FINALS + ("VCON",))
        if reply.final == "VCON":  # V.253 modems may end ATDT with VCON: as connected as they can tell
            self._run(self.line.go(cs.CONNECTED))
        elif not reply.ok:
            self._run(self.line.go(cs.ENDED, reply.final))

    def dropped(self, reason: str) -> None:
        """The line failed: a dial still at its fence is answered before the LineDown, as one begun is."""
        if self.asked:
            self.line.post(DialFailed(self.line.line_id, f"failed: line failed: {reason}"))

    def transfer(self, number: str) -> None:
        """Hand the call on (transfer.py); TransferResult follows."""
        self._transfer.transfer(number)

    def transfer_asked(self, number: str) -> None:
        """Any thread: a transfer to `number` is queued; a call-off before it begins stops it (transfer.py)."""
        self._transfer.asked(number)

    def call_off_transfer(self, number: str, reason: str) -> None:
        """Any thread: the transfer to `number` waiting for its second leg stops (transfer.py)."""
        self._transfer.call_off(number, reason)
