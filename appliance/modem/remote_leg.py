"""A remote operator's leg on the caller's own line (3GPP 27.007 +CHLD): hold the caller (AT+CHLD=2), dial the
operator's phone, and once they accept join the two (AT+CHLD=3, a conference the line stays in; where the
network refuses it, AT+CHLD=4, explicit call transfer, which leaves the line free) or drop the leg and take the
caller back (AT+CHLD=1: release the active call, retrieve the held one).

A part of Calls (calls.py), which owns the state; it runs on the line's worker and tells the core through
RemoteAnswered / RemoteFailed / RemoteJoined. Between the pick-up and the operator's key the worker is free:
the leg's DTMF reaches the core as the line's keys (the held caller's keys are not heard).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from appliance.core.events import RemoteAnswered, RemoteFailed, RemoteJoined
from appliance.modem import call_states as cs
from appliance.modem.at import CALL_FINALS, Reply
from appliance.modem.dialects import Dialect
from appliance.modem.transfer import ATD_TIMEOUT, TRANSFER_POLL, clcc_calls, dial_failure

CHLD_TIMEOUT = 10.0  # a supplementary service is a network round trip: seconds, not milliseconds


class RemoteLeg:
    def __init__(self, line_id: str, *, post: Callable[[object], None], command: Callable[..., Reply],
                 dialect: Callable[[], Dialect], clock: Callable[[], float], dial_timeout: float,
                 state: Callable[[], str], go: Callable[..., list[str]], hangup: Callable[[], None]) -> None:
        self.line_id = line_id
        self._post = post
        self._command = command
        self._dialect = dialect
        self._clock = clock
        self.dial_timeout = dial_timeout
        self._state = state
        self._go = go
        self._hangup = hangup
        self._news = threading.Event()  # a call report, or the core dropping the leg, while the phone rings
        self._dropped = threading.Event()
        self._last_end = "no carrier"
        self.live = False  # a leg is up or ringing: the line's call reports are about it or the held caller
        self.joined = False  # in a conference: a leg ending ends the call

    def heard(self, end: str | None = None) -> None:
        """A call report while the leg exists (reader thread)."""
        if end is not None:
            self._last_end = end
        self._news.set()

    def drop_soon(self) -> None:
        """The core dropped the leg (event loop thread): a dial still ringing stops waiting at once."""
        self._dropped.set()
        self._news.set()

    def ring(self, number: str) -> None:
        """Hold the caller and dial `number` (worker); RemoteAnswered or RemoteFailed follows."""
        self._dropped.clear()
        if not self._dialect().gsm:
            self._post(RemoteFailed(self.line_id, "an analogue (V.253) line cannot hold a caller", refused=True))
            return
        if self._state() != cs.ACTIVE:
            self._post(RemoteFailed(self.line_id, f"no caller to hold (the line is {self._state()})"))
            return
        self._go(cs.TRANSFER)
        self._news.clear()
        self._last_end, self.live = "no carrier", True
        reply = self._command("AT+CHLD=2", timeout=CHLD_TIMEOUT)
        if not reply.ok:
            self._back(f"the network refused to hold the caller: {reply.final}", refused=True, retrieve=False)
            return
        reply = self._command(self._dialect().dial_command(number), timeout=ATD_TIMEOUT, finals=CALL_FINALS)
        outcome = self._picked_up() if reply.ok else dial_failure(reply.final)
        if outcome == "caller gone":
            self._caller_gone()
        elif outcome == "answered":
            if self._dropped.is_set():
                self._back("dropped", post=False)
            else:
                self._post(RemoteAnswered(self.line_id))
        else:
            self._back(outcome, post=not self._dropped.is_set())

    def check(self) -> None:
        """A leg ended after the pick-up (worker): the caller's or the operator's, AT+CLCC tells."""
        if not self.live:
            return
        if self.joined:  # a party left the conference (reported before its join was done): over for both
            self._caller_gone()
            return
        calls = clcc_calls(self._command("AT+CLCC", expect="+CLCC:"))
        if not any(stat == 1 for _, _, stat in calls):
            self._caller_gone()
        elif not any(direction == 0 and stat != 1 for _, direction, stat in calls):
            self._back("the operator hung up")

    def drop(self) -> None:
        """Hang up the leg and take the caller back (worker)."""
        if self.live and self._state() == cs.TRANSFERRING:
            self._back("dropped", post=False)

    def join(self) -> None:
        """The operator accepted (worker): a conference, else explicit call transfer, else the caller back."""
        if not self.live or self._state() != cs.TRANSFERRING:
            return
        if self._command("AT+CHLD=3", timeout=CHLD_TIMEOUT).ok:
            self.joined = True
            self._go(cs.TRANSFER_BACK)  # the line's call goes on, now with three parties
            self._post(RemoteJoined(self.line_id, "conference"))
            return
        if self._command("AT+CHLD=4", timeout=CHLD_TIMEOUT).ok:
            self.live = False
            self._go(cs.TRANSFER_DONE)
            self._post(RemoteJoined(self.line_id, "transfer"))
            return
        self._back("the network refused both a conference and explicit call transfer", refused=True)

    def ended(self) -> None:
        """The line's call is over (hung up, or the line failed): nothing of the leg is left."""
        self.live = self.joined = False

    def _picked_up(self) -> str:
        """'answered', 'caller gone', or why the phone did not answer (busy, no answer...)."""
        deadline = self._clock() + self.dial_timeout
        while self._clock() < deadline and not self._dropped.is_set():
            self._news.wait(TRANSFER_POLL)
            self._news.clear()
            if self._dropped.is_set():
                break
            calls = clcc_calls(self._command("AT+CLCC", expect="+CLCC:"))
            if not any(stat == 1 for _, _, stat in calls):
                return "caller gone"
            ours = [stat for _, direction, stat in calls if direction == 0 and stat != 1]
            if 0 in ours:
                return "answered"
            if not ours:
                return dial_failure(self._last_end)
        return "dropped" if self._dropped.is_set() else "no answer"

    def _caller_gone(self) -> None:
        self.live = self.joined = False
        self._hangup()
        self._go(cs.ENDED, "caller hung up")

    def _back(self, reason: str, *, refused: bool = False, retrieve: bool = True, post: bool = True) -> None:
        """The leg is over: release it and take the held caller back (AT+CHLD=1)."""
        self.live = False
        if retrieve:
            self._command("AT+CHLD=1", timeout=CHLD_TIMEOUT)
        self._go(cs.TRANSFER_BACK)
        if post:
            self._post(RemoteFailed(self.line_id, reason, refused=refused))
