"""What each line reports of its call, and what the core makes of it: the line up or down, a call arriving (its
caller, a forward by the network), answered or refused, a key pressed, a transfer's result, and the caller hanging up.

A part of the switchboard (switchboard.py dispatches to it), with its collaborators passed in as the other
parts' are: the plan (who is blocked or a priority caller), the lines' calls, the IVR a call enters once
answered, the queue a caller leaves, the remote operators' legs, the moves to a sibling box, and `end`, the
switchboard's one way to end a call.
"""

from __future__ import annotations

from collections.abc import Callable

from . import events as ev
from .call import Call, CallbackRequest
from .clock import Clock
from .ivr import Ivr
from .lines import Lines
from .moves import Moves
from .plan import CallPlan
from .queue import Queue
from .remote import RemoteOperators

FORWARD_NOTICE = 30.0  # seconds a +CSSU before its RING stays the next call's (a call set-up takes a few)
End = Callable[[Call, str, str, "str | None"], list[object]]


class LineReports:
    def __init__(self, *, plan: CallPlan, lines: Lines, clock: Clock, new_id: Callable[[], str], ivr: Ivr,
                 queue: Queue, remote: RemoteOperators, moves: Moves, end: End) -> None:
        self.plan, self.lines, self.clock, self.new_id = plan, lines, clock, new_id
        self.ivr, self.queue, self.remote, self.moves, self.end = ivr, queue, remote, moves, end
        self.forwarded: dict[str, float] = {}  # line -> when +CSSU said its next call comes forwarded

    def line_up(self, event: ev.LineUp) -> list[object]:
        self.lines.state[event.line] = "up"
        self.lines.reason[event.line] = None
        self.moves.line_up(event)
        return []

    def line_down(self, event: ev.LineDown) -> list[object]:
        self.lines.state[event.line] = "down"
        self.lines.reason[event.line] = event.reason
        call = self.lines.call_on(event.line)
        if call is None:
            return []
        return [ev.StopAudio(event.line), *self.end(call, "failed", "line", event.reason)]

    def incoming_call(self, event: ev.IncomingCall) -> list[object]:
        if event.line not in self.lines.calls:
            return []
        # The line has answered already (ATA goes out straight from the RING; its answer journal covers a
        # crash before this record is written). The line's call state is the truth: a call the core still
        # holds on it has ended without the core hearing so.
        stale = self.lines.call_on(event.line)
        actions = self.end(stale, "failed", "line", "the line took a new call") if stale else []
        call = Call(id=event.call_id or self.new_id(), line=event.line, caller=event.caller,  # begun at its RING
                    started_at=self.clock.wall() - event.waited, started_mono=self.clock.monotonic() - event.waited)
        self._classify(call)
        self.moves.arrived(call)
        self.lines.calls[event.line] = call
        heard = self.forwarded.pop(event.line, None)
        if heard is not None and self.clock.monotonic() - heard < FORWARD_NOTICE:
            call.log(call.started_at, "FORWARDED")
        return [*actions, ev.CallStarted(call.id, call.line, call.caller, call.started_at)]

    def call_forwarded(self, event: ev.CallForwarded) -> list[object]:
        """Recorded in the call's timeline; a report before the RING waits for the call it announces."""
        call = self.lines.call_on(event.line)
        if call is None:
            self.forwarded[event.line] = self.clock.monotonic()
        elif not any(e["event"] == "FORWARDED" for e in call.events):
            call.log(self.clock.wall(), "FORWARDED")
        return []

    def _classify(self, call: Call) -> None:
        call.blocked = self.plan.callers.is_blocked(call.caller, self.clock.wall())
        call.priority = self.plan.callers.is_priority(call.caller)

    def caller_id(self, event: ev.CallerId) -> list[object]:
        call = self.lines.call_on(event.line)
        if call is not None and call.caller is None and event.caller:
            call.caller = event.caller
            if call.answered_at is None:
                self._classify(call)
            self.moves.arrived(call)
            return [ev.CallerKnown(call.id, event.caller)]
        return []

    def transfer_result(self, event: ev.TransferResult) -> list[object]:
        call = self.lines.call_on(event.line)
        if call is not None and self.moves.is_moving(call):
            return self.moves.result(call, event)
        return self.ivr.transfer_result(event)

    def call_answered(self, event: ev.CallAnswered) -> list[object]:
        call = self.lines.call_on(event.line)
        if call is None or call.answered_at is not None or isinstance(call, CallbackRequest):
            return []
        call.answered_at = self.clock.wall()
        call.log(call.answered_at, "ANSWERED", detail=call.caller)
        landed = self.moves.take(call, self.plan.flow)  # a caller a sibling moved here skips the menu
        return landed + self.ivr.answered(call)

    def answer_retry(self, event: ev.AnswerRetry) -> list[object]:
        call = self.lines.call_on(event.line)
        if call is not None:
            call.log(self.clock.wall(), "ANSWER_REFUSED", detail=f"attempt {event.attempt}: {event.reason}")
        return []

    def answer_failed(self, event: ev.AnswerFailed) -> list[object]:
        call = self.lines.call_on(event.line)
        return self.end(call, "failed", "system", event.reason) if call else []

    def dtmf(self, event: ev.DtmfReceived) -> list[object]:
        if self.remote.whispering(event.line):
            return self.remote.key(event)
        return self.ivr.dtmf(event)

    def remote_hangup(self, event: ev.RemoteHangup) -> list[object]:
        call = self.lines.call_on(event.line)
        if call is None:
            return []
        actions: list[object] = [ev.StopAudio(event.line)]
        if self.remote.ended(call):
            actions.append(ev.HangUp(event.line))  # one side of a conference left: the other leg goes too
        if call.queued:
            actions += self.queue.leave(call, "ABANDON")
        if call.connected_at is not None:
            call.log(self.clock.wall(), "COMPLETECALLER")
            outcome = "completed"
        elif call.queued_mono is not None and not call.voicemail:
            outcome = "abandoned"
        elif call.voicemail or self.ivr.is_taking_voicemail(call):
            outcome = "voicemail"
        elif call.answered_at is None:
            outcome = "missed"  # gone while it still rang
        else:
            outcome = "left in menu"
        return actions + self.end(call, outcome, "caller", event.reason)

    def unanswered_call(self, event: ev.UnansweredCall) -> list[object]:
        """A record of its own: the line's call in progress (if any) goes on untouched."""
        now, mono = self.clock.wall(), self.clock.monotonic()
        call = Call(id=self.new_id(), line=event.line, caller=event.caller, started_at=now, ended_at=now,
                    started_mono=mono, ended_mono=mono)
        call.outcome, call.ended_by, call.reason = event.outcome, "system", event.reason
        call.log(now, event.outcome.upper(), detail=event.reason)
        return [ev.CallEnded(call.record())]
