"""The line's call as a part that dials a second leg sees it: explicit call transfer (transfer.py) and a remote
operator's leg (remote_leg.py) are each given this one handle instead of the same nine collaborators, and so are
the line's own outgoing calls (dialling.py).

Calls (calls.py) owns the call's state and table and builds the handle: the AT channel, the line's dialect and
clock, the dial timeout, the call's state, its table (`go(event, why)` moves the state and returns the modem
effects), its hang-up, and the call reports that come (reader thread) while a second leg is dialled. Dialling
that leg with the caller held and waiting for it, AT+CLCC asked at each report, is done here once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import field

from appliance.core.lean import lean
from appliance.modem.at import CALL_FINALS, Reply
from appliance.modem.dialects import Dialect
from appliance.modem.dialects.base import fields

TRANSFER_POLL = 1.0  # how often AT+CLCC is asked while a second leg rings
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


@lean(eq=False)
class LineHandle:
    line_id: str
    post: Callable[[object], None]
    command: Callable[..., Reply]
    dialect: Callable[[], Dialect]
    clock: Callable[[], float]
    dial_timeout: float
    state: Callable[[], str]
    go: Callable[..., list[str]]
    hangup: Callable[[], None]
    news: threading.Event = field(default_factory=threading.Event)  # a call report came while a leg is dialled
    last_end: str = "no carrier"  # how the last call report that ended a leg put it

    def heard(self, end: str | None = None) -> None:
        """A call report while a second leg is up (reader thread): a leg answered (None) or one ended (why)."""
        if end is not None:
            self.last_end = end
        self.news.set()

    def expect(self) -> None:
        """A second leg begins (worker): reports heard before it are not about it."""
        self.news.clear()
        self.last_end = "no carrier"

    def dial_leg(self, number: str, stopped: Callable[[], str | None]) -> str:
        """Dial `number` with the caller held (worker): 'answered', 'caller gone', what stopped() said when it
        called the wait off, or why the number did not answer (busy, no answer...)."""
        reply = self.command(self.dialect().dial_command(number), timeout=ATD_TIMEOUT, finals=CALL_FINALS)
        return self._wait_for_leg(stopped) if reply.ok else dial_failure(reply.final)

    def _wait_for_leg(self, stopped: Callable[[], str | None]) -> str:
        deadline = self.clock() + self.dial_timeout
        while (why := stopped()) is None and self.clock() < deadline:
            self.news.wait(TRANSFER_POLL)
            self.news.clear()
            if (why := stopped()) is not None:
                break
            calls = clcc_calls(self.command("AT+CLCC", expect="+CLCC:"))
            if not any(stat == 1 for _, _, stat in calls):
                return "caller gone"
            ours = [stat for _, direction, stat in calls if direction == 0 and stat != 1]
            if 0 in ours:
                return "answered"
            if not ours:
                return dial_failure(self.last_end)
        return why or "no answer"
