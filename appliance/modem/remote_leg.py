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

from appliance.core.events import RemoteAnswered, RemoteFailed, RemoteJoined
from appliance.modem import call_states as cs
from appliance.modem.line_handle import LineHandle, clcc_calls

CHLD_TIMEOUT = 10.0  # a supplementary service is a network round trip: seconds, not milliseconds


class RemoteLeg:
    def __init__(self, line: LineHandle) -> None:
        self.line = line  # the call's handle (line_handle.py): its reports wake the wait for the phone
        self._dropped = threading.Event()  # the core dropped the leg while the phone rang
        self.live = False  # a leg is up or ringing: the line's call reports are about it or the held caller
        self.joined = False  # in a conference: a leg ending ends the call

    def drop_soon(self) -> None:
        """The core dropped the leg (event loop thread): a dial still ringing stops waiting at once."""
        self._dropped.set()
        self.line.news.set()

    def ring(self, number: str) -> None:
        """Hold the caller and dial `number` (worker); RemoteAnswered or RemoteFailed follows."""
        self._dropped.clear()
        line = self.line
        if not line.dialect().gsm:
            line.post(RemoteFailed(line.line_id, "an analogue (V.253) line cannot hold a caller", refused=True))
            return
        if line.state() != cs.ACTIVE:
            line.post(RemoteFailed(line.line_id, f"no caller to hold (the line is {line.state()})"))
            return
        line.go(cs.TRANSFER)
        line.expect()
        self.live = True
        reply = line.command("AT+CHLD=2", timeout=CHLD_TIMEOUT)
        if not reply.ok:
            self._back(f"the network refused to hold the caller: {reply.final}", refused=True, retrieve=False)
            return
        outcome = line.dial_leg(number, lambda: "dropped" if self._dropped.is_set() else None)
        if outcome == "caller gone":
            self._caller_gone()
        elif outcome == "answered":
            if self._dropped.is_set():
                self._back("dropped", post=False)
            else:
                line.post(RemoteAnswered(line.line_id))
        else:
            self._back(outcome, post=not self._dropped.is_set())

    def check(self) -> None:
        """A leg ended after the pick-up (worker): the caller's or the operator's, AT+CLCC tells."""
        if not self.live:
            return
        if self.joined:  # a party left the conference (reported before its join was done): over for both
            self._caller_gone()
            return
        calls = clcc_calls(self.line.command("AT+CLCC", expect="+CLCC:"))
        if not any(stat == 1 for _, _, stat in calls):
            self._caller_gone()
        elif not any(direction == 0 and stat != 1 for _, direction, stat in calls):
            self._back("the operator hung up")

    def drop(self) -> None:
        """Hang up the leg and take the caller back (worker)."""
        if self.live and self.line.state() == cs.TRANSFERRING:
            self._back("dropped", post=False)

    def join(self) -> None:
        """The operator accepted (worker): a conference, else explicit call transfer, else the caller back."""
        line = self.line
        if not self.live or line.state() != cs.TRANSFERRING:
            return
        if line.command("AT+CHLD=3", timeout=CHLD_TIMEOUT).ok:
            self.joined = True
            line.go(cs.TRANSFER_BACK)  # the line's call goes on, now with three parties
            line.post(RemoteJoined(line.line_id, "conference"))
            return
        if line.command("AT+CHLD=4", timeout=CHLD_TIMEOUT).ok:
            self.live = False
            line.go(cs.TRANSFER_DONE)
            line.post(RemoteJoined(line.line_id, "transfer"))
            return
        self._back("the network refused both a conference and explicit call transfer", refused=True)

    def ended(self) -> None:
        """The line's call is over (hung up, or the line failed): nothing of the leg is left."""
        self.live = self.joined = False

    def _caller_gone(self) -> None:
        self.live = self.joined = False
        self.line.hangup()
        self.line.go(cs.ENDED, "caller hung up")

    def _back(self, reason: str, *, refused: bool = False, retrieve: bool = True, post: bool = True) -> None:
        """The leg is over: release it and take the held caller back (AT+CHLD=1)."""
        self.live = False
        if retrieve:
            self.line.command("AT+CHLD=1", timeout=CHLD_TIMEOUT)
        self.line.go(cs.TRANSFER_BACK)
        if post:
            self.line.post(RemoteFailed(self.line.line_id, reason, refused=refused))
