"""The switchboard: every line's call, driven by events and a clock, answering with actions.

It is the functional core of the box: no serial port, pin or sound card is
touched here, so every path through a call is tested with a fake clock.
It composes the parts, each with its collaborators passed in: what the lines
report of their calls (line_reports.py: arrivals, answers, keys, hang-ups), the
IVR (what the flow does with a caller), the queue (callers waiting, handsets
ringing), the callbacks (dialling callers back), the desks (receivers, presence
switches, handovers and barges), the remote operators' phones and the
supervisor's status view; it keeps the lines, routes each event to its handler,
fires the timers and ends calls.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from typing import Any

from . import events as ev
from .call import Call, CallbackRequest
from .call import new_id as new_call_id
from .callbacks import Callbacks, CallbackSettings
from .callers import CallerLists
from .clock import Clock
from .desks import Desks
from .flow import Flow
from .ivr import Ivr
from .line_reports import LineReports
from .lines import Lines
from .moves import Moves
from .operators import Operators
from .plan import CallPlan
from .queue import RINGBACK, HandsetState, Queue, QueueSettings
from .remote import RemoteOperators, phone_handset
from .schedule import Schedule
from .status import StatusView
from .timers import TimerKind, Timers

log = logging.getLogger(__name__)

__all__ = ["RINGBACK", "CallbackSettings", "Switchboard"]


class Switchboard:
    def __init__(
        self,
        *,
        lines: Iterable[str],
        handsets: Iterable[str],
        operators: Operators,
        flow: Flow,
        schedule: Schedule,
        clock: Clock,
        queue: QueueSettings | None = None,
        callers: CallerLists | None = None,
        callbacks: CallbackSettings | None = None,
        prompts: Iterable[str] = (),
        recording_prompt: str | None = None,
        presence: dict[str, str] | None = None,
        new_id: Callable[[], str] = new_call_id,
        rng: random.Random | None = None,
        move_after: float = 0.0,
    ) -> None:
        self.clock = clock
        self.new_id = new_id
        self.operators = operators
        self.plan = CallPlan(flow, schedule, callers or CallerLists(), frozenset(prompts), recording_prompt)
        self._lines = Lines(lines)
        self.handsets = {h: HandsetState(h) for h in handsets}
        for operator in operators:  # a remote operator's phone is rung like a handset (core/remote.py)
            if operator.phone is not None:
                self.handsets[phone_handset(operator.name)] = HandsetState(phone_handset(operator.name),
                                                                           phone=operator.phone)
        self.timers = Timers()
        self.queue = Queue(self.handsets, operators, queue or QueueSettings(), clock, self.timers, rng, self._lines)
        self.callbacks = Callbacks(callbacks or CallbackSettings(), self.plan, self._lines, self.queue, clock, new_id)
        self.ivr = Ivr(self.plan, self._lines, clock, self.timers, self.queue, self.callbacks, self._finish)
        self.remote = RemoteOperators(self._lines, self.queue, clock, self._finish, self.callbacks,
                                      self.ivr.operator_done)
        self.desks = Desks(queue=self.queue, lines=self._lines, callbacks=self.callbacks, ivr=self.ivr, clock=clock,
                           end=self._finish, presence=presence or {}, rng=rng)
        self.moves = Moves(self.queue, clock, self._finish, move_after)  # waiting callers to a sibling box
        self.view = StatusView(self.plan, self._lines, self.handsets, operators, self.queue, self.ivr, clock)
        self.reports = LineReports(plan=self.plan, lines=self._lines, clock=clock, new_id=new_id, ivr=self.ivr,
                                   queue=self.queue, remote=self.remote, moves=self.moves, end=self._finish)
        # Every event the adapters post, and who answers it: tests/unit/test_core_seams.py checks none is missing.
        self._handlers: dict[type, Callable[[Any], list[object]]] = {
            ev.LineUp: self.reports.line_up,
            ev.LineDown: self.reports.line_down,
            ev.IncomingCall: self.reports.incoming_call,
            ev.CallerId: self.reports.caller_id,
            ev.CallForwarded: self.reports.call_forwarded,
            ev.CallAnswered: self.reports.call_answered,
            ev.AnswerRetry: self.reports.answer_retry,
            ev.AnswerFailed: self.reports.answer_failed,
            ev.RemoteHangup: self.reports.remote_hangup,
            ev.UnansweredCall: self.reports.unanswered_call,
            ev.PromptFinished: self.ivr.prompt_finished,
            ev.DtmfReceived: self.reports.dtmf,
            ev.RecordingFinished: self.ivr.recording_finished,
            ev.TransferResult: self.reports.transfer_result,
            ev.SiblingsHeard: self.moves.heard,
            ev.MoveAnnounced: self.moves.announced,
            ev.SpeechHeard: self.ivr.speech_heard,
            ev.HookOff: self.desks.hook_off,
            ev.HookOn: self.desks.hook_on,
            ev.PresenceChanged: self.desks.presence_changed,
            ev.DialAnswered: self.remote.dial_answered,
            ev.DialFailed: self.callbacks.dial_failed,
            ev.RemoteAnswered: self.remote.picked_up,
            ev.RemoteFailed: self.remote.failed,
            ev.RemoteJoined: self.remote.joined,
            # Only time passing: the timers it fires are all there is to do.
            ev.Tick: self._nothing,
            # The daemon stores received SMS and logs failed sends before the core sees them; no call changes.
            ev.SmsReceived: self._nothing,
            ev.SmsResult: self._nothing,
            ev.Transcribed: self._nothing,  # a voicemail's text, stored by the daemon after the call
        }

    # --- what the admin set up, shared with the parts ----------------------------------

    @property
    def line_calls(self) -> dict[str, Call | None]:
        """Each line's call (None: the line is free); the service's `lines` are its modems."""
        return self._lines.calls

    @property
    def live_calls(self) -> list[Call]:
        """The calls on the lines now, one per busy line."""
        return self._lines.live()

    def line_call_by_id(self, call_id: str) -> Call | None:
        """The call on a line with this id; None when it has ended (or is a callback still waiting)."""
        return self._lines.by_id(call_id)

    @property
    def line_state(self) -> dict[str, str]:
        return self._lines.state

    @property
    def flow(self) -> Flow:
        return self.plan.flow

    @property
    def schedule(self) -> Schedule:
        return self.plan.schedule

    @schedule.setter
    def schedule(self, schedule: Schedule) -> None:
        self.plan.schedule = schedule

    @property
    def callers(self) -> CallerLists:
        return self.plan.callers

    @callers.setter
    def callers(self, callers: CallerLists) -> None:
        self.plan.callers = callers

    @property
    def announcement(self) -> str | None:
        return self.plan.announcement

    @announcement.setter
    def announcement(self, prompt: str | None) -> None:
        self.plan.announcement = prompt

    # --- public ---------------------------------------------------------------

    def handle(self, event: object) -> list[object]:
        """Apply one event; return what the hardware must do, in order."""
        handler = self._handlers.get(type(event))
        if handler is None:  # an event nobody handles is a bug to hear about, not a call quietly lost
            raise TypeError(f"the switchboard has no handler for {type(event).__name__}")
        actions = self._fire_timers()
        # a line lent to another call (a remote operator's leg, a desk's handover whisper) has no call of its own
        if self.desks.on_whisper(event):
            actions += self.desks.whisper_event(event)
        else:
            actions += self.remote.leg_event(event) if self.remote.on_leg(event) else handler(event)
        actions += self.moves.check()  # anything may have made a waiting caller due to go to a sibling
        self.view.note_operator_states()
        return actions

    def _nothing(self, event: object) -> list[object]:
        return []

    def next_deadline(self) -> float | None:
        deadlines = [self.timers.next_deadline(), self.queue.next_deadline(), self.moves.next_deadline()]
        return min((d for d in deadlines if d is not None), default=None)

    def reconfigure(self, flow: Flow, schedule: Schedule, callers: CallerLists | None = None,
                    prompts: Iterable[str] | None = None) -> None:
        """A new config: calls already in a node keep going; new nodes come from the new flow."""
        self.plan.flow, self.plan.schedule = flow, schedule
        if callers is not None:
            self.plan.callers = callers
        if prompts is not None:
            self.plan.prompts = frozenset(prompts)

    def abort(self, line: str, reason: str) -> list[object]:
        """Something went wrong inside this line's call: end it cleanly, never half-way."""
        call = self._lines.call_on(line)
        if call is None:
            return []
        return [ev.HangUp(line), ev.StopAudio(line), *self._finish(call, "failed", "system", reason)]

    def transfer(self, line: str, number: str) -> list[object]:
        """The operator hands the caller to a competent service: the line transfers, the handset is freed."""
        call = self._lines.call_on(line)
        if call is None:
            raise LookupError(f"no call on line {line!r}")
        call.log(self.clock.wall(), "TRANSFER", detail=number)
        call.transfer_to = number
        return [ev.StopAudio(line), ev.Transfer(line, number)]

    def request_callback(self, number: str, operator: str | None = None) -> list[object]:
        """A callback asked for from the web page (a voicemail to return, a missed caller); with `operator`,
        that operator's desk rings first (the console's and callbacks page's "call back now")."""
        if operator is not None:
            person = self.operators.get(operator)
            if person.handset is None or person.handset not in self.handsets:
                raise ValueError(f"{operator} is not logged in: log in at a handset or your phone to call back")
            self.operators.ready(operator, self.clock.monotonic())
        return self.callbacks.request(None, number, operator)

    def restore_callback(self, request_id: str, number: str, attempts: int) -> list[object]:
        """A request still waiting when the daemon last stopped keeps its place in line."""
        return self.callbacks.restore(request_id, number, attempts)

    def is_open(self) -> bool:
        return self.ivr.is_open()

    def restamp(self, delta: float) -> None:
        """The wall clock was just set: calls and callback requests in progress move their stamps with it."""
        live = {id(c): c for c in [*self._lines.live(), *self.callbacks.requests.values(), *self.queue.waiting]}
        for call in live.values():
            call.restamp(delta)
        self.view.restamp(delta)

    def status(self) -> dict:
        return self.view.status()

    # --- ending ---------------------------------------------------------------

    def _finish(self, call: Call, outcome: str, ended_by: str, reason: str | None) -> list[object]:
        actions: list[object] = []
        if call.queued:
            actions += self.queue.leave(call, "ABANDON" if ended_by == "caller" else "FAILED", reason)
        actions += self.desks.finished(call)
        actions += self.moves.forget(call)
        actions += self.queue.released(call)
        self.timers.cancel_call(call.id)
        if self.ivr.is_recording(call):
            actions.append(ev.StopRecording(call.line))  # what was recorded so far is kept
        call.ended_at, call.ended_mono = self.clock.wall(), self.clock.monotonic()
        call.outcome, call.ended_by, call.reason = outcome, ended_by, reason
        self._lines.release(call)
        if isinstance(call, CallbackRequest):
            self.callbacks.forget(call)
        log.info("call %s on %s ended: %s (%s)", call.id, call.line, outcome, reason or ended_by)
        return [*actions, ev.CallEnded(call.record())]

    # --- time passing -------------------------------------------------------------

    def _fire_timers(self) -> list[object]:
        now = self.clock.monotonic()  # every timer runs on it: a wall-clock step fires none early or late
        actions: list[object] = []
        for operator_change in self.operators.tick(now, self.clock.wall(), roster=self.clock.synced()):
            log.info("operator %s: %s (%s)", operator_change.operator, operator_change.state.value,
                     operator_change.why)
        for kind, call_id in self.timers.due(now):
            call = self._lines.by_id(call_id) or self.callbacks.by_id(call_id)
            if call is not None:
                actions += self._timer(kind, call)
        if self.queue.waiting:
            actions += self.queue.dispatch()  # wrap-ups and retry pauses may have ended
        return actions

    def _timer(self, kind: TimerKind, call: Call) -> list[object]:
        if kind == "input":
            return self.ivr.input_timeout(call)
        if kind == "ring":
            return self.desks.ring_timeout(call) if self.desks.handing_over(call) else self.queue.ring_timeout(call)
        if kind == "announce":
            self.timers.start("announce", call.id, self.clock.monotonic() + self.queue.settings.announce_every)
            if any(self.handsets[h].phone for h in call.ringing):
                return []  # held while a remote phone is dialled: the line's audio is the whisper's
            return self.ivr.announce_position(call)
        return self.ivr.waited_too_long(call)
