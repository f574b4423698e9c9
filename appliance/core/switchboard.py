"""The switchboard: every line's call, driven by events and a clock, answering with actions.

It is the functional core of the box: no serial port, pin or sound card is
touched here, so every path through a call is tested with a fake clock.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any

from . import events as ev
from .call import Call
from .callbacks import CallbackSettings, CallbackSteps
from .callers import CallerLists
from .clock import Clock
from .flow import Flow
from .handoff import RINGBACK, Handoff, HandsetState, QueueSettings, position_prompt
from .ivr import FlowSteps
from .operators import Operators
from .schedule import Schedule
from .timers import TimerKind, Timers

log = logging.getLogger(__name__)

__all__ = ["RINGBACK", "CallbackSettings", "Switchboard"]


class Switchboard(FlowSteps, CallbackSteps):
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
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        rng: random.Random | None = None,
    ) -> None:
        self.lines: dict[str, Call | None] = dict.fromkeys(lines)
        self.line_state: dict[str, str] = dict.fromkeys(self.lines, "starting")
        self.line_reason: dict[str, str | None] = dict.fromkeys(self.lines)
        self.handsets = {h: HandsetState(h) for h in handsets}
        self.operators = operators
        self.flow = flow
        self.schedule = schedule
        self.callers = callers or CallerLists()
        self.callbacks = callbacks or CallbackSettings()
        self.prompts = frozenset(prompts)
        self.clock = clock
        self.new_id = new_id
        self.announcement: str | None = None  # the emergency announcement's prompt, while it is on
        self._timers = Timers()
        # Each line's recordings in the order they were started: the recorder reports them in that order.
        self._takes: dict[str, deque[tuple[str, Call]]] = defaultdict(deque)
        self.recording_prompt = recording_prompt  # set when every call is recorded: the caller is told first
        self.presence = presence or {}  # handset -> the operator its presence switch logs in and out
        self._callbacks: dict[str, Call] = {}  # callback requests by id, waiting or being dialled
        self._operator_since: dict[str, tuple[object, float]] = {}
        self.handoff = Handoff(self.handsets, operators, queue or QueueSettings(), clock, self._timers, rng)
        # Every event the adapters post, and who answers it: tests/test_switchboard.py checks none is missing.
        self._handlers: dict[type, Callable[[Any], list[object]]] = {
            ev.LineUp: self._on_LineUp,
            ev.LineDown: self._on_LineDown,
            ev.IncomingCall: self._on_IncomingCall,
            ev.CallerId: self._on_CallerId,
            ev.CallAnswered: self._on_CallAnswered,
            ev.AnswerRetry: self._on_AnswerRetry,
            ev.AnswerFailed: self._on_AnswerFailed,
            ev.RemoteHangup: self._on_RemoteHangup,
            ev.UnansweredCall: self._on_UnansweredCall,
            ev.PromptFinished: self._on_PromptFinished,
            ev.DtmfReceived: self._on_DtmfReceived,
            ev.RecordingFinished: self._on_RecordingFinished,
            ev.TransferResult: self._on_TransferResult,
            ev.HookOff: self._on_HookOff,
            ev.HookOn: self._on_HookOn,
            ev.PresenceChanged: self._on_PresenceChanged,
            ev.DialAnswered: self._on_DialAnswered,
            ev.DialFailed: self._on_DialFailed,
            # Only time passing: the timers it fires are all there is to do.
            ev.Tick: self._nothing,
            # The daemon stores received SMS and logs failed sends before the core sees them; no call changes.
            ev.SmsReceived: self._nothing,
            ev.SmsResult: self._nothing,
        }

    # --- public ---------------------------------------------------------------

    def handle(self, event: object) -> list[object]:
        """Apply one event; return what the hardware must do, in order."""
        handler = self._handlers.get(type(event))
        if handler is None:  # an event nobody handles is a bug to hear about, not a call quietly lost
            raise TypeError(f"the switchboard has no handler for {type(event).__name__}")
        actions = self._fire_timers()
        actions += handler(event)
        self._note_operator_states()
        return actions

    def _nothing(self, event: object) -> list[object]:
        return []

    def _note_operator_states(self) -> None:
        """When each operator entered their present state, for "on call for 4 min" on the supervisor's page."""
        now = self.clock.wall()
        for operator in self.operators:
            seen = self._operator_since.get(operator.name)
            if seen is None or seen[0] != operator.state:
                self._operator_since[operator.name] = (operator.state, now)

    def next_deadline(self) -> float | None:
        deadlines = [self._timers.next_deadline(), self.handoff.next_deadline()]
        return min((d for d in deadlines if d is not None), default=None)

    def reconfigure(self, flow: Flow, schedule: Schedule, callers: CallerLists | None = None,
                    prompts: Iterable[str] | None = None) -> None:
        """A new config: calls already in a node keep going; new nodes come from the new flow."""
        self.flow, self.schedule = flow, schedule
        if callers is not None:
            self.callers = callers
        if prompts is not None:
            self.prompts = frozenset(prompts)

    def abort(self, line: str, reason: str) -> list[object]:
        """Something went wrong inside this line's call: end it cleanly, never half-way."""
        call = self.lines.get(line)
        if call is None:
            return []
        return [ev.HangUp(line), ev.StopAudio(line), *self._finish(call, "failed", "system", reason)]

    def transfer(self, line: str, number: str) -> list[object]:
        """The operator hands the caller to a competent service: the line transfers, the handset is freed."""
        call = self.lines.get(line)
        if call is None:
            raise LookupError(f"no call on line {line!r}")
        call.log(self.clock.wall(), "TRANSFER", detail=number)
        call.transfer_to = number
        return [ev.StopAudio(line), ev.Transfer(line, number)]

    def request_callback(self, number: str) -> list[object]:
        """A callback asked for from the web page (a voicemail to return, a missed caller)."""
        return self._request_callback(None, number)

    def is_open(self) -> bool:
        """The schedule now; while the wall clock is not yet set, the configured fallback decides."""
        return self.schedule.is_open(self._wall())

    def _wall(self) -> float | None:
        return self.clock.wall() if self.clock.synced() else None

    def restamp(self, delta: float) -> None:
        """The wall clock was just set: calls and callback requests in progress move their stamps with it."""
        live = {id(c): c for c in [*self.lines.values(), *self._callbacks.values(), *self.handoff.waiting] if c}
        for call in live.values():
            call.restamp(delta)
        self._operator_since = {name: (state, at + delta) for name, (state, at) in self._operator_since.items()}

    def status(self) -> dict:
        now = self.clock.monotonic()
        self._note_operator_states()  # control commands (login, pause) change states outside handle()
        calls = [c for c in self.lines.values() if c is not None]
        return {
            "lines": [
                {"id": line, "state": self.line_state[line], "reason": self.line_reason[line],
                 "call": call.id if call else None}
                for line, call in self.lines.items()
            ],
            "handsets": [self._handset_status(h) for h in self.handsets.values()],
            "operators": [
                {"name": o.name, "state": o.state.value, "handset": o.handset, "pause_reason": o.pause_reason,
                 "calls_taken": o.calls_taken, "since": self._operator_since[o.name][1]}
                for o in self.operators
            ],
            "calls": [call.live(now) for call in calls],
            "waiting": [{"call": c.id, "position": i + 1, "callback": c.callback_number is not None,
                         "seconds": round(now - (c.route_started_at or now), 1)}
                        for i, c in enumerate(self.handoff.waiting)],
            "announcement": self.announcement,
            "schedule": {"open": self.is_open(), "override": self.schedule.forced(self._wall()),
                         "override_until": self.schedule.override_until,
                         "time_known": self.clock.synced()},
        }

    def _handset_status(self, handset: HandsetState) -> dict:
        operator = self.operators.at_handset(handset.id)
        return {"id": handset.id, "state": handset.state, "operator": operator.name if operator else None,
                "operator_state": operator.state.value if operator else None,
                "skills": sorted(operator.skills) if operator else []}

    # --- lines ----------------------------------------------------------------

    def _on_LineUp(self, event: ev.LineUp) -> list[object]:
        self.line_state[event.line] = "up"
        self.line_reason[event.line] = None
        return []

    def _on_LineDown(self, event: ev.LineDown) -> list[object]:
        self.line_state[event.line] = "down"
        self.line_reason[event.line] = event.reason
        call = self.lines.get(event.line)
        if call is None:
            return []
        return [ev.StopAudio(event.line), *self._finish(call, "failed", "line", event.reason)]

    def _on_IncomingCall(self, event: ev.IncomingCall) -> list[object]:
        if event.line not in self.lines:
            return []
        # The line has answered already (ATA goes out straight from the RING; its answer journal covers a
        # crash before this record is written). The line's call state is the truth: a call the core still
        # holds on it has ended without the core hearing so.
        stale = self.lines[event.line]
        actions = self._finish(stale, "failed", "line", "the line took a new call") if stale else []
        call = Call(id=event.call_id or self.new_id(), line=event.line, caller=event.caller,  # begun at its RING
                    started_at=self.clock.wall() - event.waited, started_mono=self.clock.monotonic() - event.waited)
        self._classify(call)
        self.lines[event.line] = call
        return [*actions, ev.CallStarted(call.id, call.line, call.caller, call.started_at)]

    def _classify(self, call: Call) -> None:
        call.blocked = self.callers.is_blocked(call.caller, self.clock.wall())
        call.priority = self.callers.is_priority(call.caller)

    def _on_CallerId(self, event: ev.CallerId) -> list[object]:
        call = self.lines.get(event.line)
        if call is not None and call.caller is None and event.caller:
            call.caller = event.caller
            if call.answered_at is None:
                self._classify(call)
            return [ev.CallerKnown(call.id, event.caller)]
        return []

    def _on_CallAnswered(self, event: ev.CallAnswered) -> list[object]:
        call = self.lines.get(event.line)
        if call is None or call.answered_at is not None or call.callback_number is not None:
            return []
        call.answered_at = self.clock.wall()
        call.log(call.answered_at, "ANSWERED", detail=call.caller)
        if self.recording_prompt and not call.blocked:
            call.node, call.playing = None, self.recording_prompt  # the caller is told before anything is kept
            return [ev.Play(call.line, self.recording_prompt)]
        if call.blocked:
            call.node = None
            if "blocked" in self.prompts:
                call.playing = "blocked"
                return [ev.Play(call.line, "blocked")]
            return [ev.HangUp(call.line), *self._finish(call, "blocked", "system", "caller is on the blocklist")]
        return self._enter(call, self.flow.start)

    def _on_AnswerRetry(self, event: ev.AnswerRetry) -> list[object]:
        call = self.lines.get(event.line)
        if call is not None:
            call.log(self.clock.wall(), "ANSWER_REFUSED", detail=f"attempt {event.attempt}: {event.reason}")
        return []

    def _on_AnswerFailed(self, event: ev.AnswerFailed) -> list[object]:
        call = self.lines.get(event.line)
        return self._finish(call, "failed", "system", event.reason) if call else []

    def _on_RemoteHangup(self, event: ev.RemoteHangup) -> list[object]:
        call = self.lines.get(event.line)
        if call is None:
            return []
        actions: list[object] = [ev.StopAudio(event.line)]
        if call.queued:
            actions += self.handoff.leave(call, "ABANDON")
        if call.connected_at is not None:
            call.log(self.clock.wall(), "COMPLETECALLER")
            outcome = "completed"
        elif call.route_started_at is not None and not call.voicemail:
            outcome = "abandoned"
        elif call.voicemail or ("voicemail", call) in self._takes[event.line]:
            outcome = "voicemail"
        elif call.answered_at is None:
            outcome = "missed"  # gone while it still rang
        else:
            outcome = "left in menu"
        return actions + self._finish(call, outcome, "caller", event.reason)

    def _on_UnansweredCall(self, event: ev.UnansweredCall) -> list[object]:
        """A record of its own: the line's call in progress (if any) goes on untouched."""
        now, mono = self.clock.wall(), self.clock.monotonic()
        call = Call(id=self.new_id(), line=event.line, caller=event.caller, started_at=now, ended_at=now,
                    started_mono=mono, ended_mono=mono)
        call.outcome, call.ended_by, call.reason = event.outcome, "system", event.reason
        call.log(now, event.outcome.upper(), detail=event.reason)
        return [ev.CallEnded(call.record())]

    # --- the flow's inputs ----------------------------------------------------

    def _active(self, line: str) -> tuple[Call, object] | None:
        call = self.lines.get(line)
        if call is None or call.node is None or (call.connected_at is not None and call.released_at is None):
            return None
        node = self.flow.nodes.get(call.node)
        return (call, node) if node is not None else None

    def _on_PromptFinished(self, event: ev.PromptFinished) -> list[object]:
        call = self.lines.get(event.line)
        if call is not None and call.node is None and event.prompt == self.recording_prompt == call.playing:
            self._takes[call.line].append(("call", call))
            start = ev.StartRecording(call.line, f"recordings/{call.id}.flac", 4 * 3600.0, math.inf, 1.0,
                                      stop_on_key=False)
            return [start, *self._enter(call, self.flow.start)]
        if call is not None and call.blocked and call.node is None and event.prompt == call.playing:
            return [ev.HangUp(call.line), *self._finish(call, "blocked", "system", "caller is on the blocklist")]
        active = self._active(event.line)
        if active is None or event.prompt != active[0].playing:
            return []  # a prompt that was replaced, or a call already past it
        return self._prompt_done(*active)

    def _on_DtmfReceived(self, event: ev.DtmfReceived) -> list[object]:
        active = self._active(event.line)
        return self._key(active[0], active[1], event.digit) if active else []

    def _on_RecordingFinished(self, event: ev.RecordingFinished) -> list[object]:
        if not self._takes[event.line]:
            return []
        kind, call = self._takes[event.line].popleft()
        if kind == "call":
            return [ev.SaveRecording(call.id, event.path, event.seconds)] if event.path else []
        actions: list[object] = []
        if event.path is not None:
            call.voicemail = True
            actions.append(ev.SaveVoicemail(call.id, event.path, event.seconds, call.caller))
        if self.lines.get(event.line) is call and call.node is not None:
            call.log(self.clock.wall(), "VOICEMAIL", detail=f"{event.seconds:.1f}s {event.reason}")
            actions += self._enter(call, self.flow.nodes[call.node].next)
        return actions

    def _on_TransferResult(self, event: ev.TransferResult) -> list[object]:
        call = self.lines.get(event.line)
        if call is not None and call.transfer_to == event.number and call.connected_at is not None:
            call.transfer_to = None
            if event.ok:  # asked for from the operator's console
                return self._finish(call, "transferred", "operator", f"handed to {event.number}")
            call.log(self.clock.wall(), "FAILED", detail=f"transfer to {event.number}: {event.reason}")
            return []
        active = self._active(event.line)
        if active is None:
            return []
        call, node = active
        if event.ok:
            return self._finish(call, "transferred", "system", f"handed to {event.number}")
        call.log(self.clock.wall(), "FAILED", detail=f"transfer to {event.number}: {event.reason}")
        return self._enter(call, node.on_fail)

    # --- hand-off to operators ------------------------------------------------

    def _on_HookOff(self, event: ev.HookOff) -> list[object]:
        handset = self.handsets.get(event.handset)
        if handset is None:
            return []
        handset.off_hook = True
        call = self._call_by_id(handset.ringing_for) or self._callback_by_id(handset.ringing_for)
        if call is None:
            return []
        actions = self.handoff.lifted(handset.id, call)
        if call.callback_number is not None:
            actions += self._dial_callback(call)
        return actions

    def _on_HookOn(self, event: ev.HookOn) -> list[object]:
        handset = self.handsets.get(event.handset)
        if handset is None:
            return []
        handset.off_hook = False
        call = self._call_by_id(handset.connected_to)
        if call is None:
            return self.handoff.dispatch()  # a receiver back on its cradle may be rung again
        if call.callback_number is not None and call.connected_at is None:
            # The operator gave up before the caller answered: try again later.
            self.lines[call.line] = None
            return [ev.HangUp(call.line), *self.handoff.released(call),
                    *self._callback_failed(call, "operator hung up before the answer")]
        call.log(self.clock.wall(), "COMPLETEAGENT", handset=handset.id)
        node = self.flow.nodes.get(call.node or "")
        if node is not None and node.type == "route" and node.survey and call.callback_number is None:
            # The operator is done; the caller stays for the survey question.
            call.released_at = self.clock.monotonic()
            return self.handoff.released(call) + self._enter(call, node.survey)
        return [ev.HangUp(call.line), *self._finish(call, "completed", "operator", "operator hung up")]

    def _on_PresenceChanged(self, event: ev.PresenceChanged) -> list[object]:
        name = self.presence.get(event.handset)
        if name is None:
            return []
        now = self.clock.wall()  # a login by hand outranks the roster until its next shift change
        try:
            if event.present:
                self.operators.login(name, event.handset, now)
            else:
                self.operators.logout(name, now)
        except ValueError as exc:  # leaving mid-call: the call goes on, and the switch is read again next time
            log.warning("presence switch at %s: %s", event.handset, exc)
            return []
        return self.handoff.dispatch()

    # --- ending ---------------------------------------------------------------

    def _finish(self, call: Call, outcome: str, ended_by: str, reason: str | None) -> list[object]:
        actions: list[object] = []
        if call.queued:
            actions += self.handoff.leave(call, "ABANDON" if ended_by == "caller" else "FAILED", reason)
        actions += self.handoff.released(call)
        self._timers.cancel_call(call.id)
        if call.line and any(taken is call for _, taken in self._takes[call.line]):
            actions.append(ev.StopRecording(call.line))  # what was recorded so far is kept
        call.ended_at, call.ended_mono = self.clock.wall(), self.clock.monotonic()
        call.outcome, call.ended_by, call.reason = outcome, ended_by, reason
        if call.line and self.lines.get(call.line) is call:
            self.lines[call.line] = None
        if call.callback_number is not None:
            self._callbacks.pop(call.id, None)
        log.info("call %s on %s ended: %s (%s)", call.id, call.line, outcome, reason or ended_by)
        return [*actions, ev.CallEnded(call.record())]

    def _call_by_id(self, call_id: str | None) -> Call | None:
        if call_id is None:
            return None
        return next((c for c in self.lines.values() if c is not None and c.id == call_id), None)

    def _fire_timers(self) -> list[object]:
        now = self.clock.monotonic()  # every timer runs on it: a wall-clock step fires none early or late
        actions: list[object] = []
        for operator_change in self.operators.tick(now, self.clock.wall(), roster=self.clock.synced()):
            log.info("operator %s: %s (%s)", operator_change.operator, operator_change.state.value,
                     operator_change.why)
        for kind, call_id in self._timers.due(now):
            call = self._call_by_id(call_id) or self._callback_by_id(call_id)
            if call is None:
                continue
            actions += self._timer(kind, call)
        if self.handoff.waiting:
            actions += self.handoff.dispatch()  # wrap-ups and retry pauses may have ended
        return actions

    def _timer(self, kind: TimerKind, call: Call) -> list[object]:
        if kind == "input":
            return self._input_timeout(call)
        if kind == "ring":
            return self.handoff.ring_timeout(call)
        if kind == "announce":
            self._timers.start("announce", call.id, self.clock.monotonic() + self.handoff.settings.announce_every)
            return [ev.StopAudio(call.line), self._say(call, position_prompt(self.handoff.position(call)))]
        # maxwait: nobody answered in time, the flow's overflow path takes over
        node = self.flow.nodes[call.node]
        return [*self.handoff.leave(call, "EXITWITHTIMEOUT"), ev.StopAudio(call.line), *self._enter(call, node.next)]
