"""The call on one line: the modem's call reports as core events, and the call commands.

The states and their transitions are one table (call_states.py); this module feeds it and carries out
what it says. Reports arrive on the AT channel's reader thread (`happen`); the commands (answer, hang
up, dial, transfer) and the timers (`tick`) run on the line's worker. Every outcome reaches the core as
an event through `post`, never as a return value, so nobody waits on the modem.

The line answers a caller itself, straight from the RING (answer.py): ATA is written by the reader that
read it (or, with a command in flight, queued at the head of the worker's jobs) before IncomingCall is even
posted, so the caller never waits for the worker, the event loop or the database.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable

from appliance.core.call import new_id
from appliance.core.events import (
    AnswerFailed,
    AnswerRetry,
    CallAnswered,
    CallerId,
    DialAnswered,
    DialFailed,
    DtmfReceived,
    IncomingCall,
    RemoteHangup,
)
from appliance.modem import call_states as cs
from appliance.modem.answer import AnswerExchange, AnswerNote, Send
from appliance.modem.at import CALL_FINALS, Reply
from appliance.modem.dialects import Dialect
from appliance.modem.dialects.base import (
    CallerNumber,
    Dtmf,
    Happening,
    LineAnswered,
    LineHungUp,
    OwedOk,
    Ring,
)
from appliance.modem.dialling import Dialling
from appliance.modem.held import Held
from appliance.modem.line_handle import LineHandle, clcc_calls, dial_failure
from appliance.modem.remote_leg import RemoteLeg

log = logging.getLogger(__name__)

RING_GONE = 8.0  # RING repeats every ~3-5 s; this long without one and the caller has given up
# No network repeats RING faster than this (GSM every 3-5 s, an analogue cadence every ~6 s): RINGs
# closer together are one ring, so a storm of them neither starts a call per RING nor blocks a caller.
RING_MIN_GAP = 1.0
CALL_POLL = 2.0
ANSWER_TIMEOUT = 10.0  # ATA on a GSM module returns within a few seconds; longer means it hangs
DIAL_TIMEOUT = 60.0  # the far end rings this long before the line gives up: DialFailed("no answer")

Command = Callable[..., Reply]


class Calls:
    """The line's call. `state` is one of call_states.STATES; `command` is the AT channel's, `later(job)`
    queues a job on the worker and `urgent(job)` puts one at the head of its queue; `dialect()` is the
    line's current dialect. `note_answer(call_id, line, caller)` is called just before each ATA (the
    daemon's answer journal, so a crash before the record is written still leaves one). The answer exchange
    (ATA, its reply, the check) is its part `answering` (answer.py), what the core hears held while the ATA is
    out its part `held` (held.py), the outgoing calls (dial, transfer) its part `dialling` (dialling.py)."""

    def __init__(self, line_id: str, *, post: Callable[[object], None], command: Command,
                 later: Callable[[Callable[[], None]], None], urgent: Callable[[Callable[[], None]], None],
                 dialect: Callable[[], Dialect], dial_timeout: float = DIAL_TIMEOUT, answer_after_rings: int = 1,
                 note_answer: AnswerNote | None = None, clock: Callable[[], float] = time.monotonic,
                 send: Send | None = None) -> None:
        if not (isinstance(answer_after_rings, int) and answer_after_rings >= 1):
            raise ValueError(f"bad answer_after_rings {answer_after_rings!r} for line {line_id}: a whole number >= 1")
        self.line_id = line_id
        self._post = post
        self._command = command
        self._later = later
        self._urgent = urgent
        self._dialect = dialect
        self._clock = clock
        self._lock = threading.RLock()  # held while a transition posts, so the core hears them in order
        self.state = cs.DOWN
        self.answer_after_rings = answer_after_rings
        self.call_id: str | None = None
        self._caller: str | None = None
        self._caller_told = False
        self._early_caller: str | None = None
        self._last_ring = -RING_GONE  # any RING: the caller still rings
        self._counted_ring = -RING_MIN_GAP  # the last RING that counted as a ring of its own
        self._rings = 0
        self._next_id: str | None = new_id()  # the id the next call takes
        # What the core hears of the call, held while its ATA is out (held.py). Its steps are bound here once, so
        # the way from a RING to its ATA looks up no more than before the part was split out.
        self.held = Held(lock=self._lock, post=post, clock=clock, call_id=lambda: self.call_id)
        self._hold, self._say = self.held.hold, self.held.say
        self.answering = AnswerExchange(
            line_id, lock=self._lock, command=command, send=send, urgent=urgent, dialect=dialect,
            note_answer=note_answer, state=lambda: self.state, call=lambda: (self.call_id, self._caller),
            go=self._go, run=self._run, hold=self._hold, release=self.held.announced, settle=self._settle,
            rang_meanwhile=self._rang_meanwhile, slow=self.held.note_number_at_once, timeout=ANSWER_TIMEOUT)
        self.held.note = self.answering.note
        # What the parts that dial a second leg with the caller held (a transfer, a remote operator) work with.
        self.line = LineHandle(line_id, post=post, command=command, dialect=dialect, clock=clock,
                               dial_timeout=dial_timeout, state=lambda: self.state, go=self._go, hangup=self.hangup)
        self.dialling = Dialling(self.line, lock=self._lock, run=self._run, forget=self.forget)
        self.remote = RemoteLeg(self.line)

    # --- the table ------------------------------------------------------------------------

    def _go(self, event: str, why: str = "", data: str | None = None) -> list[str]:
        """Take `event` through the table: the state moves, the core is told (in order, under the lock),
        and the effects that need the modem are returned for the caller to run or queue."""
        with self._lock:
            was = self.state
            move = cs.step(was, event)
            self.state = move.to
            if move.to != was:
                self.answering.moved()
                log.debug("line %s: %s --%s--> %s", self.line_id, was, event, move.to)
            if move.to in (cs.IDLE, cs.DOWN) and (was not in (cs.RINGING, cs.ANSWERING, cs.CHECKING, cs.REFUSED)
                                                  or event in (cs.OUR_HANGUP, cs.PORT_LOST)):
                # The call is over for certain: the next RING is a new caller. Only a call gone while it
                # rang keeps the gap, so a RING storm answered with NO CARRIER is not a call per RING.
                self._counted_ring = -RING_MIN_GAP
            answer = cs.SEND_ATA in move.effects
            if cs.NEW_CALL in move.effects:
                if answer:
                    self._hold()  # still holding an earlier call's events: they go first, none is lost
                self._new_call()
            if answer:
                # The ATA first, once the call has its id (the journal notes it): what the core hears of the
                # call is made after it, and held until the ATA's reply. The caller waits for nothing else.
                self.answering.now()
            commands = []
            for effect in move.effects:
                if effect == cs.SEND_ATA:
                    continue
                if effect in (cs.HANG_UP, cs.HANG_UP_ANALOGUE, cs.ANSWERED, cs.DIAL_ANSWERED):
                    if effect == cs.ANSWERED:  # in order with the reports around it (held until after-answer)
                        self._say(CallAnswered(self.line_id))
                    commands.append(effect)
                else:
                    self._tell(effect, event, why, data)
            if self._next_id is None and self.state != cs.ANSWERING:
                # The next call's id, made at this call's next step rather than before its ATA or just after it
                # (~50 us cold, a system call): on the box's CPU then, it held up the ATA's way to the modem.
                self._next_id = new_id()
            return commands

    def _new_call(self) -> None:
        """A new caller's call: its id (made beforehand), the number heard before its RING (if any), when it rang."""
        self.call_id, self._next_id, self._caller = self._next_id or new_id(), None, self._early_caller
        self._caller_told, self._early_caller = self._caller is not None, None
        self.held.rang_at = self._clock()

    def _tell(self, effect: str, event: str, why: str, data: str | None) -> None:
        line = self.line_id
        if effect == cs.NEW_CALL:
            self._say(IncomingCall(line, self._caller, self.call_id))
        elif effect == cs.TELL_CALLER and not self._caller_told:
            self._caller_told, self._caller = True, data
            self._say(CallerId(line, data))
            if self.held.events is not None and data:
                self.held.number(self.call_id, data)  # the journal's record gets it too (held.py says when)
        elif effect == cs.TELL_DTMF:
            self._say(DtmfReceived(line, data or ""))
        elif effect == cs.RETRY:
            self._say(AnswerRetry(line, self.answering.attempts, why))
        elif effect == cs.FAILED:
            self._say(AnswerFailed(line, why))
        elif effect == cs.GONE:
            self._say(RemoteHangup(line, why))
        elif effect == cs.DIAL_FAILED:
            self._say(DialFailed(line, why if event in (cs.PORT_LOST, cs.DIAL_TIMEOUT) else dial_failure(why)))

    def _run(self, commands: list[str]) -> None:
        """Carry out the modem effects (on the worker)."""
        for effect in commands:
            if effect == cs.ANSWERED:
                self._after_answer()
            elif effect == cs.DIAL_ANSWERED:
                self._say(DialAnswered(self.line_id))
                self._after_answer()
            elif effect == cs.HANG_UP or not self._dialect().gsm:
                self.hangup()

    def _queue(self, commands: list[str]) -> None:
        """The modem effects of a report (reader thread), queued on the worker."""
        for effect in commands:
            self._later(functools.partial(self._run, [effect]))

    # --- reports -> events (reader thread) -----------------------------------------------

    def happen(self, h: Happening) -> None:
        if isinstance(h, Ring):
            self._ring()
        elif isinstance(h, CallerNumber):
            with self._lock:
                if self.state in (cs.IDLE, cs.DOWN, cs.CHECKING):
                    self._early_caller = h.number  # some modems put +CLIP before RING; the next caller's, checked
                    return
                self._queue(self._go(cs.CALLER, data=h.number))
        elif isinstance(h, Dtmf):
            self._queue(self._go(cs.DTMF, data=h.digit))
        elif isinstance(h, OwedOk):
            self._answered_while_checking()  # Quectel sends no answer report: the late ATA's own OK is all
        elif isinstance(h, LineAnswered):
            if self.state == cs.TRANSFERRING:
                self.line.heard()
            else:
                self._answered_while_checking()
            self._queue(self._go(cs.CONNECTED))
        elif isinstance(h, LineHungUp):
            with self._lock:
                if self.state in (cs.IDLE, cs.DOWN):  # (while checking, the check decides whose number it was)
                    self._early_caller = None  # their call is over before it was ours: the number is not the next's
            if self.state == cs.TRANSFERRING:
                self.line.heard(h.reason)  # one leg ended, the second or the held caller's: AT+CLCC tells which
                if self.remote.live:
                    self._later(self.remote.check)
                return
            self._queue(self._go(cs.ENDED, h.reason))

    def _answered_while_checking(self) -> None:
        if self.state == cs.CHECKING:
            self.answering.came_up(self._early_caller)  # the late ATA answered someone: this number is theirs

    def ring_first(self) -> Callable[[], None] | None:
        """A read that begins with RING, before it is split (reader thread). When this RING is answered at once
        (the line idle, answering on the first ring, no counted ring within RING_MIN_GAP), the ATA is noted
        and written first thing, then the ring is taken as `_ring` takes any (its `now` finds the ATA out), all
        under the lock. The same RING, read as a report next, is then that ring again. Returns what is left for
        once the reader has given way (the worker set to await the ATA's reply; the caller's number journalled as
        soon as it is read), or None: nothing was written (the report answers as it always did)."""
        with self._lock:
            if (self.state != cs.IDLE or self.answer_after_rings != 1
                    or self._clock() - self._counted_ring < RING_MIN_GAP):
                return None
            if self._next_id is None:
                self._next_id = new_id()
            self.answering.first(self._next_id, self._early_caller)
            self._ring()
            awaited = self.answering.handover()
        if awaited is None:
            return None

        def given_way() -> None:
            awaited()
            self.held.note_number_at_once()
        return given_way

    def _ring(self) -> None:
        with self._lock:
            now = self._clock()
            self._last_ring = now
            if now - self._counted_ring < RING_MIN_GAP:
                return  # faster than any network rings: the same ring
            self._counted_ring = now
            if self.state == cs.IDLE:
                self._rings = 1
                self.answering.new_caller()
            elif self.state == cs.RINGING:
                self._rings += 1
            due = self._rings >= self.answer_after_rings or self.answering.attempts > 0
            if self.state == cs.RINGING and not due:
                return
            commands = self._go(cs.RING_DUE if due else cs.RING)
            if self.state == cs.RINGING:
                self._later(lambda: None)  # the worker starts watching the ring cadence
        self._queue(commands)

    # --- the check's verdicts (answer.py, on the worker) ----------------------------------------

    def _settle(self, event: str, number: str | None) -> None:
        """The check's verdict on the call that was checked: `number` is the caller's if the check learnt it."""
        with self._lock:
            if self.state != cs.CHECKING:
                return  # the line failed meanwhile
            self._early_caller = number or self._early_caller
            if event in (cs.CHECK_IDLE, cs.CHECK_STRAY):
                self._early_caller = None  # a caller who rang during the check and left: not the next one
            self._rings = 1
            self.answering.new_caller()
            if event in (cs.CHECK_UP, cs.CHECK_GONE):
                self._hold()  # the core hears of the call once the after-answer commands are done
            commands = self._go(event, "caller hung up")
            call_id, caller = self.call_id, self._caller
        if event in (cs.CHECK_UP, cs.CHECK_GONE):
            self.answering.note(call_id, caller)  # answered: journalled like any other answer
        self._run(commands)
        if event in (cs.CHECK_UP, cs.CHECK_GONE):
            self.held.announced()

    def _rang_meanwhile(self, number: str | None) -> None:
        """The check found the next caller ringing after the late ATA's caller left: they are answered now."""
        with self._lock:
            if self.state != cs.IDLE:
                return
            self._early_caller, self._rings = number, 1
            self.answering.new_caller()
            self._go(cs.RING_DUE)

    # --- the line's own state ------------------------------------------------------------------

    def drop(self, reason: str) -> None:
        """The line failed: whatever call there was is gone (LineDown, posted next, ends it in the core)."""
        self.held.announced()
        self.remote.ended()
        self.dialling.dropped(reason)
        self._go(cs.PORT_LOST, f"failed: line failed: {reason}")

    def back(self, command: Command) -> None:
        """The line is initialised (at start or after recovery): calls still up in the modem belong to no one
        any more (their records were closed when the line failed, or before a restart) and are hung up. A
        caller still ringing is left to ring: the next RING answers it as a new call."""
        dialect = self._dialect()
        if not dialect.gsm:
            command(dialect.hangup_command, timeout=5.0, finals=CALL_FINALS)  # on-hook, whatever it was
        else:
            reply = command("AT+CLCC", expect="+CLCC:")
            left = [c for c in clcc_calls(reply) if c[2] in (0, 1, 2, 3)] if reply.ok else []
            if left:
                log.warning("line %s: %d call(s) still up in the modem after re-initialising: hanging up",
                            self.line_id, len(left))
                command(dialect.hangup_command, timeout=10.0, finals=CALL_FINALS)
                if any(stat == 1 for _, _, stat in left):
                    command("AT+CHLD=0", timeout=10.0)  # a held call survives ATH on many modules
        with self._lock:
            self._early_caller = None  # a number heard before the line failed: the next RING says whose call it is
        self._go(cs.BACK)

    def forget(self) -> None:
        """We hang up: the reports of our own hang-up are not the caller's."""
        self.remote.ended()
        self._go(cs.OUR_HANGUP)

    # --- timers (worker) -----------------------------------------------------------------

    def wait(self, now: float) -> float:
        """Seconds until `tick` has something to do (inf when nothing)."""
        wait = float("inf")
        if self.state in (cs.RINGING, cs.REFUSED):
            wait = self._last_ring + RING_GONE - now
        if self.state in (cs.ACTIVE, cs.DIALING) and self._dialect().poll_call_state:
            wait = min(wait, CALL_POLL)
        if self.state == cs.DIALING:
            wait = min(wait, self.dialling.deadline - now)
        return wait

    def tick(self, now: float) -> None:
        if self.state in (cs.RINGING, cs.REFUSED) and now - self._last_ring >= RING_GONE:
            self._run(self._go(cs.RING_GONE, "caller gave up before the answer"))
        if self.state == cs.DIALING and now >= self.dialling.deadline:
            self._run(self._go(cs.DIAL_TIMEOUT, "no answer"))
        if self.state in (cs.ACTIVE, cs.DIALING) and self._dialect().poll_call_state:
            reply = self._command("AT+CLCC", expect="+CLCC:")
            voice = [ln for ln in reply.lines if ln.startswith("+CLCC:")]
            if reply.ok and not voice:
                self._run(self._go(cs.POLL_EMPTY, "caller hung up"))
            for line in voice:
                for happening in self._dialect().parse(line):
                    self.happen(happening)

    # --- commands (worker) ---------------------------------------------------------------

    def _after_answer(self) -> None:
        for text in self._dialect().after_answer:
            if not self._command(text).ok:
                log.warning("line %s: %s refused after answer", self.line_id, text)

    def hangup(self) -> None:
        with self._lock:
            self._early_caller = None  # whoever it was is hung up (a caller rejected while it rang too)
        self._command(self._dialect().hangup_command, timeout=10.0, finals=CALL_FINALS)
