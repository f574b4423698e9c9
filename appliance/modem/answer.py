"""The answer exchange of a line's call: RING -> ATA -> its reply -> (the caller left meanwhile) the check.

A part Calls (calls.py) owns: Calls keeps the call's state, its lock and what the core hears (held.py), and hands this
part the steps it needs; every step moves through its table (call_states.py). ATA is written on the thread
that took the RING (the AT channel's reader) when the channel is free, and its reply is a table event taken
on the reader as it is read, in order with the reports around it. A caller who leaves as their ATA goes out
puts the line in `checking`: the modem is asked what the ATA did, and Calls settles the verdict.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable

from appliance.core.lean import lean
from appliance.modem import call_states as cs
from appliance.modem.at import CALL_FINALS, AtTimeout, Reply
from appliance.modem.dialects import Dialect
from appliance.modem.dialects.base import caller_from_clcc, fields

CHECK_TIMEOUT = 2.0  # AT+CPAS answers at once; a modem without it is given up on quickly
ANSWER_ATTEMPTS = 3  # ATA refused this often and the call is rejected (the caller hears busy, not silence)
# A modem that has not answered ATA within this long takes its time (a real one: hundreds of ms); the number read
# meanwhile is journalled then rather than at its reply, so a crash before the reply still leaves it. Sooner
# would seal it while the ATA is still on its way, on the CPU the ATA's way needs (bench/answer_latency.py).
NUMBER_GRACE = 0.05

log = logging.getLogger(__name__)


@lean(frozen=True)
class Sent:
    """A command written at once: `reply()` waits for its reply, `replied(within)` whether it came within so long
    of its writing."""

    reply: Callable[[], Reply]
    replied: Callable[[float], bool]


Send = Callable[..., "Sent | None"]  # writes a command now if the channel is free
AnswerNote = Callable[[str, str, "str | None"], None]  # (call id, line, caller): noted just before ATA


def _checked(reply: Reply, gone: str) -> tuple[str, str | None]:
    """The check's verdict from an AT+CLCC reply: (table event, the caller's number if the list gives it);
    `gone` when the list has no call."""
    listed = []
    for line in reply.lines:
        parts = fields(line.removeprefix("+CLCC:").strip()) if line.startswith("+CLCC:") else []
        if len(parts) >= 4 and parts[3] == "0":  # <id>,<dir>,<stat>,<mode 0: voice>
            listed.append(parts)
    for stat, event in (("0", cs.CHECK_UP), ("4", cs.CHECK_RINGING)):  # an incoming call, up or ringing
        for parts in listed:
            if parts[1:3] == ["1", stat]:
                return event, caller_from_clcc(parts)
    return (cs.CHECK_STRAY if listed or not reply.ok else gone), None


class AnswerExchange:
    """ATA, its reply and the check, for the call Calls says to answer. Calls gives it the line's AT channel
    (`command` on the worker, `send` from the reader, `urgent` jobs, the `dialect()`), its lock, the call's
    `state()` and `call()` (id, caller), its table (`go`, and `run` for the modem effects it returns), `hold()`
    and `release()` of what the core hears, and `settle(event, number)` / `rang_meanwhile(number)` for the check's
    verdicts. The part keeps what only the answer knows: the ATA attempts, the last ATA reply's outcome, and a
    call come up while checking."""

    def __init__(self, line_id: str, *, lock: threading.RLock, command: Callable[..., Reply], send: Send | None,
                 urgent: Callable[[Callable[[], None]], None], dialect: Callable[[], Dialect],
                 note_answer: AnswerNote | None, state: Callable[[], str],
                 call: Callable[[], tuple[str | None, str | None]], go: Callable[..., list[str]],
                 run: Callable[[list[str]], None], hold: Callable[[], None], release: Callable[[], None],
                 settle: Callable[[str, str | None], None], rang_meanwhile: Callable[[str | None], None],
                 slow: Callable[[], None], timeout: float) -> None:
        self.line_id = line_id
        self._lock = lock
        self._command = command
        self._send = send
        self._urgent = urgent
        self._dialect = dialect
        self._note_answer = note_answer
        self._state = state
        self._call = call
        self._go = go
        self._run = run
        self._hold = hold
        self._release = release
        self._settle = settle
        self._rang_meanwhile = rang_meanwhile
        self._slow = slow
        self.timeout = timeout  # ATA's own reply
        self.attempts = 0  # ATAs the modem refused for this caller
        self._ata_outcome: tuple[list[str], bool] = ([], False)  # (modem effects, check next) of the last ATA reply
        self._up_while_checking = False  # a call came up while checking (+CLCC stat 0, ^CONN, VOICE CALL: BEGIN)
        self._answered_number: str | None = None  # the number heard before that report: the answered caller's
        self._first: tuple[str, Sent | None] | None = None  # (call id noted, its ATA) by `first`, for `now`
        self._awaited: Callable[[], None] | None = None  # that ATA's reply, for the worker, once `handover` says
        self._journal_failed = False  # the answer journal raised once: said in the log, not again for each call

    # --- what Calls tells its part ------------------------------------------------------------

    def new_caller(self) -> None:
        """A new caller rings (or the check settled who rings next): their ATAs are counted afresh."""
        self.attempts = 0

    def came_up(self, number: str | None) -> None:
        """A call came up while checking (reader thread): the late ATA answered someone, who may leave before
        the check; `number` is the one heard before the report, theirs whoever rings after them."""
        if not self._up_while_checking:
            self._up_while_checking, self._answered_number = True, number

    def moved(self) -> None:
        """The call's state moved (under Calls' lock): what came up while checking was that state's news."""
        self._up_while_checking, self._answered_number = False, None

    def note(self, call_id: str | None, caller: str | None) -> None:
        """Journal the answer (the daemon's answer journal, so a crash before the record is written leaves one).

        The journal only covers a crash: whatever it raises, the answer and the call's record go on (an
        exception here, on the reader or in the worker's job, held the call back from the core for good)."""
        if self._note_answer is None:
            return
        try:
            self._note_answer(call_id or "", self.line_id, caller)
        except Exception:  # noqa: BLE001 - see above
            if not self._journal_failed:
                self._journal_failed = True
                log.exception("line %s: the answer journal failed; calls are answered and recorded as usual, but a "
                              "crash before a call's record is written would lose that call", self.line_id)

    # --- the exchange -------------------------------------------------------------------------

    def first(self, call_id: str, caller: str | None) -> None:
        """The answer's note and ATA, for the call `call_id` about to be made of a RING (Calls.ring_first, under
        its lock, on the reader): before anything else is done about that RING. `now` takes them."""
        if self._send is not None:
            self.note(call_id, caller)
            self._first = (call_id, self._write_ata(self._send))

    def now(self) -> None:
        """ATA on this thread (the reader, at the RING) if the channel is free, its reply awaited on the worker;
        else ATA at the head of the worker's jobs. Either way before the event loop hears of the call. An ATA
        written by `first` is awaited once the reader has given way (`handover`)."""
        if self._send is not None:
            self._hold()
            call_id, caller = self._call()
            first, self._first = self._first, None
            if first is not None and first[0] == call_id:  # noted and written at the RING (`first`)
                sent, at_ring = first[1], True
            else:
                self.note(call_id, caller)
                sent, at_ring = self._write_ata(self._send), False
            if sent is not None:
                awaited = functools.partial(self._answered, sent.reply, sent.replied)
                if at_ring:
                    self._awaited = awaited  # the reader queues it once it has given way (`handover`)
                else:
                    self._urgent(awaited)
                return
        self._urgent(self.answer)

    def handover(self) -> Callable[[], None] | None:
        """What is left of `first`'s ATA once the reader that wrote it has given way: the worker set to await its
        reply (None when the ATA could not be written: `now` queued it on the worker). Woken at once, the worker
        took the CPU on the other core just as the ATA was on its way to the modem."""
        awaited, self._awaited = self._awaited, None
        if awaited is None:
            return None
        return functools.partial(self._urgent, awaited)

    def _write_ata(self, send: Send) -> Sent | None:
        self._ata_outcome = ([], False)
        return send(self._dialect().answer_command, timeout=self.timeout, finals=CALL_FINALS,
                          on_final=self._ata_replied)

    def answer(self) -> None:
        """ATA for the call the table said to answer. Its reply is an event of the table taken on the reader
        (`_ata_replied`), in order with the reports around it; what the core hears meanwhile waits until the
        after-answer commands are done, so the flow starts on a line ready to carry its sound."""
        with self._lock:
            state, (call_id, caller) = self._state(), self._call()
            if state == cs.ANSWERING:
                self._hold()  # a retry: the call is known, its answer still waits for the after-answer commands
        if state != cs.ANSWERING:
            self._release()
            if state == cs.CHECKING:
                self._check(answered=False)  # the caller left before their ATA went out: did the next one ring?
            return  # the call ended (or the line failed) before its ATA went out
        self.note(call_id, caller)
        self._ata_outcome = ([], False)
        self._answered(lambda: self._command(self._dialect().answer_command, timeout=self.timeout,
                                             finals=CALL_FINALS, on_final=self._ata_replied))

    def _answered(self, ata: Callable[[], Reply], replied: Callable[[float], bool] | None = None) -> None:
        """The ATA's reply (`ata()` waits for it; the state moved already, on the reader): the after-answer
        commands, then the core hears of the call, then the check if the caller left. `replied(within)`, for an
        ATA sent from the reader: a reply slower than NUMBER_GRACE lets Calls journal the number meanwhile."""
        if replied is not None and not replied(NUMBER_GRACE):
            self._slow()
        try:
            reply = ata()
        except AtTimeout:
            self._release()
            self._run(self._go(cs.ATA_TIMEOUT, "the modem did not answer the call"))
            raise
        except Exception:
            self._release()  # the line fails next: what was held goes first
            raise
        commands, checking = self._ata_outcome
        self._run(commands)
        self._release()
        if checking:  # next, ahead of anything queued: the line takes no call until the check is done
            self._urgent(lambda: self._check(answered=reply.ok))

    def _ata_replied(self, reply: Reply) -> None:
        """The ATA's final, on the reader as it is read: the state moves before any report after it is taken."""
        with self._lock:
            if self._state() != cs.ANSWERING:
                # The caller's end report came before it (checking), the core hung up (idle), the line failed.
                commands = self._go(cs.ATA_OK) if reply.ok else []
            elif reply.ok:
                commands = self._go(cs.ATA_OK)
            elif reply.final in ("NO CARRIER", "NO ANSWER", "BUSY"):
                commands = self._go(cs.ATA_NO_CARRIER, "caller hung up before the answer")
            else:
                self.attempts += 1
                gave_up = self.attempts >= ANSWER_ATTEMPTS
                why = f"the modem refused to answer: {reply.final}"
                if gave_up:
                    why += f" ({self.attempts} times; the call was rejected)"
                commands = self._go(cs.ATA_GAVE_UP if gave_up else cs.ATA_REFUSED, why)
            self._ata_outcome = (commands, self._state() == cs.CHECKING)

    def _check(self, *, answered: bool) -> None:
        """The caller left as their ATA went out (CHECKING). If their NO CARRIER was read as the ATA's reply,
        the ATA's own reply is still owed, and it may be OK: the ATA reached the modem after the next caller
        rang and answered them. AT+CPAS skips that owed final (the modem replies in order) and says whether
        a call rings or is up; AT+CLCC, asked once nothing is owed, says whose. An answered caller becomes
        our call, a ringing one is answered at once, and a call nobody follows is hung up."""
        event, number = (cs.CHECK_STRAY if answered else cs.CHECK_IDLE), None  # an analogue line: off-hook or not
        if self._dialect().gsm:
            try:
                activity = self._command("AT+CPAS", expect="+CPAS:", stale=1, timeout=CHECK_TIMEOUT)
            except AtTimeout:
                activity = None  # a modem without AT+CPAS (it said ERROR, taken as owed): the call list decides
            # The ATA's owed reply was OK: it answered the next caller (who may have hung up already).
            answered = (answered or self._up_while_checking
                        or (activity is not None and any(f == "OK" for f in activity.skipped)))
            event = cs.CHECK_GONE if answered else cs.CHECK_IDLE
            if activity is None or activity.value("+CPAS:") != "0":
                event, number = _checked(self._command("AT+CLCC", expect="+CLCC:"), gone=event)
        if event == cs.CHECK_GONE and self._answered_number:
            number = self._answered_number  # not that of a caller who rang (and left) during the check
        if answered and event == cs.CHECK_RINGING:
            # The caller the late ATA answered has gone and another rings now: both get their call.
            self._settle(cs.CHECK_GONE, self._answered_number)
            self._rang_meanwhile(number)
            return
        self._settle(event, number)
