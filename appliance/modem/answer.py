"""The answer exchange of a line's call: RING -> ATA -> its reply -> (the caller left meanwhile) the check.

A mixin of Calls (calls.py), which owns the state and the lock; every step moves through its table
(call_states.py). ATA is written on the thread that took the RING (the AT channel's reader) when the channel
is free, and its reply is a table event taken on the reader as it is read, in order with the reports around
it. A caller who leaves as their ATA goes out puts the line in `checking`: the modem is asked what the ATA did.
"""

from __future__ import annotations

from collections.abc import Callable

from appliance.modem import call_states as cs
from appliance.modem.at import CALL_FINALS, AtTimeout, Reply
from appliance.modem.dialects.base import caller_from_clcc, fields

CHECK_TIMEOUT = 2.0  # AT+CPAS answers at once; a modem without it is given up on quickly
ANSWER_ATTEMPTS = 3  # ATA refused this often and the call is rejected (the caller hears busy, not silence)
Send = Callable[..., "Callable[[], Reply] | None"]  # writes a command now if the channel is free; waits for its reply


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
    def _answer_now(self) -> None:
        """ATA on this thread (the reader, at the RING) if the channel is free, its reply awaited on the worker;
        else ATA at the head of the worker's jobs. Either way before the event loop hears of the call."""
        if self._send is not None:
            if self._held is None:
                self._held = []
            if self._note_answer is not None:
                self._note_answer(self.call_id or "", self.line_id, self._caller)
            self._ata_outcome = ([], False)
            reply = self._send(self._dialect().answer_command, timeout=self.answer_timeout, finals=CALL_FINALS,
                               on_final=self._ata_replied)
            if reply is not None:
                self._urgent(lambda: self._answered(reply))
                return
        self._urgent(self.answer)

    def answer(self) -> None:
        """ATA for the call the table said to answer. Its reply is an event of the table taken on the reader
        (`_ata_replied`), in order with the reports around it; what the core hears meanwhile waits until the
        after-answer commands are done, so the flow starts on a line ready to carry its sound."""
        with self._lock:
            state, call_id, caller = self.state, self.call_id, self._caller
            if state == cs.ANSWERING and self._held is None:
                self._held = []  # a retry: the call is known, its answer still waits for the after-answer commands
        if state != cs.ANSWERING:
            self._announced()
            if state == cs.CHECKING:
                self._check(answered=False)  # the caller left before their ATA went out: did the next one ring?
            return  # the call ended (or the line failed) before its ATA went out
        if self._note_answer is not None:
            self._note_answer(call_id or "", self.line_id, caller)
        self._ata_outcome = ([], False)
        self._answered(lambda: self._command(self._dialect().answer_command, timeout=self.answer_timeout,
                                             finals=CALL_FINALS, on_final=self._ata_replied))

    def _answered(self, ata: Callable[[], Reply]) -> None:
        """The ATA's reply (`ata()` waits for it; the state moved already, on the reader): the after-answer
        commands, then the core hears of the call, then the check if the caller left."""
        try:
            reply = ata()
        except AtTimeout:
            self._announced()
            self._run(self._go(cs.ATA_TIMEOUT, "the modem did not answer the call"))
            raise
        except Exception:
            self._announced()  # the line fails next: what was held goes first
            raise
        commands, checking = self._ata_outcome
        self._run(commands)
        self._announced()
        if checking:  # next, ahead of anything queued: the line takes no call until the check is done
            self._urgent(lambda: self._check(answered=reply.ok))

    def _ata_replied(self, reply: Reply) -> None:
        """The ATA's final, on the reader as it is read: the state moves before any report after it is taken."""
        with self._lock:
            if self.state != cs.ANSWERING:
                # The caller's end report came before it (checking), the core hung up (idle), the line failed.
                commands = self._go(cs.ATA_OK) if reply.ok else []
            elif reply.ok:
                commands = self._go(cs.ATA_OK)
            elif reply.final in ("NO CARRIER", "NO ANSWER", "BUSY"):
                commands = self._go(cs.ATA_NO_CARRIER, "caller hung up before the answer")
            else:
                self._attempts += 1
                gave_up = self._attempts >= ANSWER_ATTEMPTS
                why = f"the modem refused to answer: {reply.final}"
                if gave_up:
                    why += f" ({self._attempts} times; the call was rejected)"
                commands = self._go(cs.ATA_GAVE_UP if gave_up else cs.ATA_REFUSED, why)
            self._ata_outcome = (commands, self.state == cs.CHECKING)

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
            self._checked_as(cs.CHECK_GONE, self._answered_number)
            with self._lock:
                if self.state != cs.IDLE:
                    return
                self._early_caller, self._rings, self._attempts = number, 1, 0
                self._go(cs.RING_DUE)
            return
        self._checked_as(event, number)

    def _checked_as(self, event: str, number: str | None) -> None:
        with self._lock:
            if self.state != cs.CHECKING:
                return  # the line failed meanwhile
            self._early_caller = number or self._early_caller
            if event in (cs.CHECK_IDLE, cs.CHECK_STRAY):
                self._early_caller = None  # a caller who rang during the check and left: not the next one
            self._rings, self._attempts = 1, 0
            if event in (cs.CHECK_UP, cs.CHECK_GONE) and self._held is None:
                self._held = []  # the core hears of the call once the after-answer commands are done
            commands = self._go(event, "caller hung up")
            call_id, caller = self.call_id, self._caller
        if event in (cs.CHECK_UP, cs.CHECK_GONE) and self._note_answer is not None:
            self._note_answer(call_id or "", self.line_id, caller)  # answered: journalled like any other answer
        self._run(commands)
        if event in (cs.CHECK_UP, cs.CHECK_GONE):
            self._announced()
