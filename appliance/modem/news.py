"""Reports that are not about the call in progress: a second (waiting) caller, a call the modem says was missed,
registration in each network domain, and warnings an admin must see (power, temperature, SMS storage full).

The reader thread hands every happening to `LineNews.take` first; only what it returns reaches the call
(calls.py). Commands it needs (rejecting a waiting call, freeing SMS storage) are queued on the worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from appliance.core.events import UnansweredCall
from appliance.modem import call_states as cs
from appliance.modem.at import Reply
from appliance.modem.dialects.base import (
    CallWaiting,
    Happening,
    LineAnswered,
    LineHungUp,
    MissedCall,
    ModemWarning,
)
from appliance.modem.health import judge_registration

log = logging.getLogger(__name__)

CALL_WAITING = ("reject", "off")
REJECT_WAITING = "AT+CHLD=0"  # 22.030: release held calls or set User Determined User Busy for a waiting call
CALL_WAITING_OFF = "AT+CCWA=0,0"
NETWORK_TIMEOUT = 30.0  # supplementary-service requests wait on the network
DELETE_READ_SMS = "AT+CMGD=1,1"  # 27.007 <delflag> 1: every read message, leaving unread ones


class LineNews:
    """`calls_state()` is the call's state (idle, ringing, active, ...); `later(job)` queues a job on the worker;
    `command` is the AT channel's."""

    def __init__(self, line_id: str, *, post: Callable[[object], None], later: Callable[[Callable[[], object]], None],
                 command: Callable[..., Reply], calls_state: Callable[[], str],
                 call_waiting: str = "reject") -> None:
        if call_waiting not in CALL_WAITING:
            raise ValueError(f"bad call_waiting {call_waiting!r} for line {line_id}: use reject or off")
        self.line_id = line_id
        self._post = post
        self._later = later
        self._command = command
        self._calls_state = calls_state
        self.call_waiting = call_waiting
        self._lock = threading.Lock()
        self._ours: int | None = None  # the modem's index of the call in progress, once a report names it
        self._others: set[int] = set()  # indexes of waiting calls
        self._rejected: set[str] = set()  # numbers already turned away during this call (+CCWA repeats)
        self._registration: dict[str, int] = {}  # domain (CREG, CGREG, CEREG) -> its last state
        self._warnings: dict[str, str] = {}  # power, temperature, sms_full -> the modem's words

    def ask_network(self) -> None:
        """`off`: ask the network to switch call waiting off, so it gives second callers busy itself (27.007
        AT+CCWA=<n>,<mode>: presentation off, mode 0 disable). A supplementary-service request takes the
        network seconds, so it runs as a job after initialisation. `reject` keeps the network's call waiting
        and turns each waiting caller away (AT+CHLD=0)."""
        if self.call_waiting == "off":
            self._later(lambda: self._command(CALL_WAITING_OFF, timeout=NETWORK_TIMEOUT))

    def take(self, h: Happening) -> Happening | None:
        """What the call in progress must hear of `h` (None: nothing, it was other news)."""
        if self._calls_state() in (cs.IDLE, cs.DOWN, cs.CHECKING):
            self.forget_calls()
        if isinstance(h, CallWaiting):
            self._waiting(h)
        elif isinstance(h, MissedCall):
            return self._missed(h)
        elif isinstance(h, ModemWarning):
            self._warning(h)
        elif isinstance(h, LineAnswered | LineHungUp):
            return h if self._about_ours(h.call, ended=isinstance(h, LineHungUp)) else None
        else:
            return h
        return None

    def forget_calls(self) -> None:
        """No call: whatever indexes were known belong to calls that are over."""
        with self._lock:
            self._ours, self._others, self._rejected = None, set(), set()

    def registration_heard(self, domains: dict[str, int]) -> int | None:
        """The line's registration once `domains` (+CREG/+CGREG/+CEREG states) are counted in, judged over every
        domain the modem has reported."""
        with self._lock:
            self._registration.update(domains)
            return judge_registration(self._registration)

    def status(self) -> dict:
        with self._lock:
            return {"warnings": dict(self._warnings), "registration_domains": dict(self._registration)}

    # --- other calls ---------------------------------------------------------------------

    def _about_ours(self, call: int | None, *, ended: bool) -> bool:
        """A report naming a call index is ours unless the index is a waiting call's, or another index than the
        one our call was first reported under. Without a call in progress (idle) nothing is learnt."""
        state = self._calls_state()
        with self._lock:
            if call is None or state in (cs.IDLE, cs.DOWN, cs.TRANSFERRING):
                return True  # no index; no call (the report changes nothing); a transfer juggling two legs
            if call in self._others:
                return False
            if self._ours is None:
                self._ours = call
            ours = call == self._ours
            if ours and ended:  # our call is over: the next one may get any index, a waiting call's too
                self._ours, self._others = None, set()
            return ours

    def _waiting(self, h: CallWaiting) -> None:
        if self._calls_state() in (cs.IDLE, cs.DOWN):
            return  # not waiting behind anything: the RING that follows makes it an ordinary call
        key = h.number or "withheld"
        with self._lock:
            if h.call is not None:
                self._others.add(h.call)
            if key in self._rejected:
                return
            self._rejected.add(key)
        log.info("line %s: a second caller while a call is up: turned away busy", self.line_id)
        self._later(lambda: self._reject(h.number))

    def _reject(self, number: str | None) -> None:
        reply = self._command(REJECT_WAITING, timeout=10.0)
        if reply.ok:
            self._post(UnansweredCall(self.line_id, number, "rejected_busy",
                                      "a call was in progress: the waiting caller was given busy"))
            return
        log.warning("line %s: the network refused to reject the waiting call (%s)", self.line_id, reply.final)
        self._post(UnansweredCall(self.line_id, number, "missed",
                                  f"a call was in progress; rejecting the waiting caller failed: {reply.final}"))

    def _missed(self, h: MissedCall) -> Happening | None:
        """SIMCom's MISSED_CALL: during our ringing it ends that call at once (the caller gave up, no need to
        wait for the RINGs to stop); while ATA runs (or was refused) the call's own record tells; otherwise it
        is a call the line never saw ring (while another call was up, or while starting), recorded so nobody
        is lost."""
        state = self._calls_state()
        if state == cs.RINGING:
            return LineHungUp("caller gave up before the answer")
        if state in (cs.ANSWERING, cs.CHECKING, cs.REFUSED):
            return None
        with self._lock:
            if (h.number or "withheld") in self._rejected:
                return None  # the waiting caller we turned away: recorded already
        self._post(UnansweredCall(self.line_id, h.number, "missed", "the modem reported a missed call"))
        return None

    # --- warnings --------------------------------------------------------------------------

    def _warning(self, h: ModemWarning) -> None:
        log.warning("line %s: %s", self.line_id, h.text)
        with self._lock:
            self._warnings[h.kind] = h.text
        if h.kind == "sms_full":
            self._later(self._free_sms_storage)

    def _free_sms_storage(self) -> None:
        reply = self._command(DELETE_READ_SMS, timeout=20.0)
        if reply.ok:
            log.info("line %s: SMS storage was full: read messages deleted", self.line_id)
            with self._lock:
                self._warnings["sms_full"] += " (read messages deleted)"
        else:
            log.warning("line %s: SMS storage full and deleting read messages failed: %s", self.line_id, reply.final)
