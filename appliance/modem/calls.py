"""The call on one line: its state, the modem's call reports as core events, and the call commands.

Reports arrive on the AT channel's reader thread (`happen`); the commands (answer, hang up, dial,
transfer) and the timers (`tick`) run on the line's worker. Every outcome reaches the core as an
event through `post`, never as a return value, so nobody waits on the modem.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from appliance.core.events import (
    AnswerFailed,
    CallAnswered,
    CallerId,
    DialAnswered,
    DialFailed,
    DtmfReceived,
    IncomingCall,
    RemoteHangup,
    TransferResult,
)
from appliance.modem.at import CALL_FINALS, AtTimeout, ModemError, Reply
from appliance.modem.dialects import Dialect
from appliance.modem.dialects.base import CallConnected, CallEnded, CallerNumber, Dtmf, Happening, Ring, fields

log = logging.getLogger(__name__)

RING_GONE = 8.0  # RING repeats every ~3-5 s; this long without one and the caller has given up
CALL_POLL = 2.0
ANSWER_TIMEOUT = 10.0  # ATA on a GSM module returns within a few seconds; longer means it hangs
DIAL_TIMEOUT = 60.0  # the far end rings this long before the line gives up: DialFailed("no answer")
ATD_TIMEOUT = 20.0  # ATD itself returns at once (the call goes on in the network) or with the failure
TRANSFER_POLL = 1.0  # how often AT+CLCC is asked while the second leg of a transfer rings

Command = Callable[..., Reply]


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


class Calls:
    """`state` is idle | ringing | active | dialing | transferring; `command` is the AT channel's,
    `later(job)` queues a job on the worker, `dialect()` is the line's current dialect."""

    def __init__(self, line_id: str, *, post: Callable[[object], None], command: Command,
                 later: Callable[[Callable[[], None]], None], dialect: Callable[[], Dialect],
                 dial_timeout: float = DIAL_TIMEOUT) -> None:
        self.line_id = line_id
        self._post = post
        self._command = command
        self._later = later
        self._dialect = dialect
        self._lock = threading.Lock()
        self.state = "idle"
        self.answer_timeout = ANSWER_TIMEOUT
        self.dial_timeout = dial_timeout
        self._caller_told = False
        self._early_caller: str | None = None
        self._last_ring = 0.0
        self._dial_deadline = 0.0
        self._news = threading.Event()  # a call report came while a transfer waits on the network
        self._last_end = "no carrier"

    # --- reports -> events (reader thread) -----------------------------------------------

    def happen(self, h: Happening) -> None:
        line = self.line_id
        if isinstance(h, Ring):
            self._last_ring = time.monotonic()
            with self._lock:
                first = self.state == "idle"
                if first:
                    self.state, self._caller_told = "ringing", self._early_caller is not None
            if first:
                self._post(IncomingCall(line, self._early_caller))
                self._early_caller = None
                self._later(lambda: None)  # the worker starts watching the ring cadence
        elif isinstance(h, CallerNumber):
            if self.state == "idle":
                self._early_caller = h.number  # some modems put +CLIP before RING
            elif not self._caller_told:
                self._caller_told = True
                self._post(CallerId(line, h.number))
        elif isinstance(h, Dtmf):
            if self.state != "idle":
                self._post(DtmfReceived(line, h.digit))
        elif isinstance(h, CallConnected):
            self._connected()
        elif isinstance(h, CallEnded):
            if self.state == "transferring":
                self._last_end = h.reason
                self._news.set()  # one leg ended: the transfer's AT+CLCC tells which
                return
            self.end(h.reason)

    def _connected(self) -> None:
        with self._lock:
            dialled = self.state == "dialing"
            if dialled:
                self.state = "active"
            news = self.state == "transferring"
        if news:
            self._news.set()
        if dialled:
            self._post(DialAnswered(self.line_id))
            self._later(self._after_answer)

    def end(self, reason: str) -> None:
        with self._lock:
            was, self.state = self.state, "idle"
        if was == "dialing":
            self._post(DialFailed(self.line_id, dial_failure(reason)))
        elif was != "idle":
            self._post(RemoteHangup(self.line_id, reason))
        if was in ("active", "dialing") and not self._dialect().gsm:
            self._later(self.hangup)  # an analogue line stays off-hook, hearing busy tone, until we hang up

    def drop(self, reason: str) -> None:
        """The line failed: whatever call there was is gone."""
        with self._lock:
            was, self.state = self.state, "idle"
        if was == "dialing":
            self._post(DialFailed(self.line_id, f"failed: line failed: {reason}"))
        elif was != "idle":
            self._post(RemoteHangup(self.line_id, f"line failed: {reason}"))

    def forget(self) -> None:
        """We hang up: the reports of our own hang-up are not the caller's."""
        with self._lock:
            self.state = "idle"

    # --- timers (worker) -----------------------------------------------------------------

    def wait(self, now: float) -> float:
        """Seconds until `tick` has something to do (inf when nothing)."""
        wait = float("inf")
        if self.state == "ringing":
            wait = self._last_ring + RING_GONE - now
        if self.state in ("active", "dialing") and self._dialect().poll_call_state:
            wait = min(wait, CALL_POLL)
        if self.state == "dialing":
            wait = min(wait, self._dial_deadline - now)
        return wait

    def tick(self, now: float) -> None:
        if self.state == "ringing" and now - self._last_ring >= RING_GONE:
            self.end("caller gave up before the answer")
        if self.state == "dialing" and now >= self._dial_deadline:
            with self._lock:
                gave_up = self.state == "dialing"
                if gave_up:
                    self.state = "idle"
            if gave_up:
                self._post(DialFailed(self.line_id, "no answer"))
                self.hangup()
        if self.state in ("active", "dialing") and self._dialect().poll_call_state:
            reply = self._command("AT+CLCC", expect="+CLCC:")
            voice = [ln for ln in reply.lines if ln.startswith("+CLCC:")]
            if reply.ok and not voice:
                self.end("caller hung up")
            for line in voice:
                for happening in self._dialect().parse(line):
                    self.happen(happening)

    # --- commands (worker) ---------------------------------------------------------------

    def answer(self) -> None:
        if self.state != "ringing":
            self._post(AnswerFailed(self.line_id, "the call ended before it was answered"))
            return
        dialect = self._dialect()
        try:
            reply = self._command(dialect.answer_command, timeout=self.answer_timeout, finals=CALL_FINALS)
        except AtTimeout:
            self._post(AnswerFailed(self.line_id, "the modem did not answer the call"))
            raise
        if not reply.ok:
            self._post(AnswerFailed(self.line_id, f"the modem refused to answer: {reply.final}"))
            return
        with self._lock:
            self.state = "active"
        self._after_answer()
        self._post(CallAnswered(self.line_id))

    def _after_answer(self) -> None:
        for text in self._dialect().after_answer:
            if not self._command(text).ok:
                log.warning("line %s: %s refused after answer", self.line_id, text)

    def hangup(self) -> None:
        self._command(self._dialect().hangup_command, timeout=10.0, finals=CALL_FINALS)

    def dial(self, number: str) -> None:
        with self._lock:
            busy = self.state != "idle"
            if not busy:
                self.state = "dialing"  # before ATD: the answer may be reported before its OK
                self._dial_deadline = time.monotonic() + self.dial_timeout
        if busy:
            self._post(DialFailed(self.line_id, "failed: the line is busy with another call"))
            return
        try:
            reply = self._command(self._dialect().dial_command(number), timeout=ATD_TIMEOUT,
                                  finals=CALL_FINALS + ("VCON",))
        except ModemError as exc:
            self.drop(f"the modem did not dial ({exc})")
            raise
        if reply.final == "VCON":  # V.253 modems may end ATDT with VCON: as connected as they can tell
            self._connected()
        elif not reply.ok:
            self.end(reply.final)

    def transfer(self, number: str) -> None:
        if not self._dialect().gsm:
            self._result(number, False, "an analogue (V.253) line cannot transfer calls")
        elif self.state == "ringing":
            self._deflect(number)
        elif self.state == "active":
            self._explicit_transfer(number)
        else:
            self._result(number, False, f"no call to transfer (the line is {self.state})")

    def _result(self, number: str, ok: bool, reason: str | None = None) -> None:
        self._post(TransferResult(self.line_id, number, ok, reason))

    def _deflect(self, number: str) -> None:
        """GSM call deflection (27.007 +CTFR): the ringing call goes to `number`, we never answer it."""
        reply = self._command(f'AT+CTFR="{number}"', timeout=10.0)
        if not reply.ok:
            self._result(number, False, f"the network refused call deflection: {reply.final}")
            return
        self.forget()
        self._result(number, True)

    def _explicit_transfer(self, number: str) -> None:
        with self._lock:
            self.state = "transferring"
        self._news.clear()
        self._last_end = "no carrier"
        try:
            ok, reason = self._hand_over(number)
        except ModemError as exc:
            self._result(number, False, f"failed: {exc}")
            with self._lock:
                if self.state == "transferring":
                    self.state = "active"
            raise
        self._result(number, ok, reason)

    def _hand_over(self, number: str) -> tuple[bool, str | None]:
        """Hold the caller, dial `number`, and once it answers join the two (AT+CHLD=4, explicit call
        transfer); a network without ECT gets a three-way conference (AT+CHLD=3) instead."""
        reply = self._command("AT+CHLD=2", timeout=10.0)
        if not reply.ok:
            self._set("active")
            return False, f"the network refused to hold the call: {reply.final}"
        reply = self._command(self._dialect().dial_command(number), timeout=ATD_TIMEOUT, finals=CALL_FINALS)
        outcome = self._second_leg() if reply.ok else dial_failure(reply.final)
        if outcome == "caller gone":
            self.hangup()
            self.end("caller hung up")
            return False, "the caller hung up during the transfer"
        if outcome != "answered":
            self._command("AT+CHLD=1", timeout=10.0)  # drop the second leg, take the caller back
            self._set("active")
            return False, outcome
        if self._command("AT+CHLD=4", timeout=10.0).ok:
            self._set("idle")
            return True, None
        if self._command("AT+CHLD=3", timeout=10.0).ok:
            self._set("active")
            return True, "conference: the network refused explicit call transfer, so the line stays in a " \
                         "three-way call until it is hung up"
        self._command("AT+CHLD=1", timeout=10.0)
        self._set("active")
        return False, "the network refused both explicit call transfer and a conference"

    def _second_leg(self) -> str:
        """'answered', 'caller gone', or the DialFailed reason for the number dialled."""
        deadline = time.monotonic() + self.dial_timeout
        while time.monotonic() < deadline:
            self._news.wait(TRANSFER_POLL)
            self._news.clear()
            calls = clcc_calls(self._command("AT+CLCC", expect="+CLCC:"))
            if not any(stat == 1 for _, _, stat in calls):
                return "caller gone"
            ours = [stat for _, direction, stat in calls if direction == 0 and stat != 1]
            if 0 in ours:
                return "answered"
            if not ours:
                return dial_failure(self._last_end)
        return "no answer"

    def _set(self, state: str) -> None:
        with self._lock:
            self.state = state
