"""The IVR: runs the flow for each caller, handing the caller's keys, prompts and recordings to the node they are at.

What each kind of node does is its handler in nodes.py (`KINDS`, looked up by the node's type); this class
holds what they share: entering a node, prompts in the caller's language, the input timer, the recordings.
Its collaborators are declared in the constructor: the plan (flow, hours, prompts), the lines, the
timers, the queue it hands callers to, the callbacks it files requests with, and `end`, the
switchboard's one way to end a call (the IVR never tidies a call up itself).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Literal

from . import events as ev
from .call import Call, CallbackRequest
from .callbacks import Callbacks
from .clock import Clock
from .flow import Node
from .lines import Lines
from .moves import CONNECTING
from .nodes import KINDS, SPEAK, named
from .plan import CallPlan
from .queue import Queue, position_prompt
from .timers import Timers

EndCall = Callable[[Call, str, str, "str | None"], list[object]]  # (call, outcome, ended by, reason) -> actions
Take = Literal["call", "voicemail", "speech"]  # a whole-call recording, a voicemail, or a spoken answer


class Ivr:
    def __init__(self, plan: CallPlan, lines: Lines, clock: Clock, timers: Timers, queue: Queue,
                 callbacks: Callbacks, end: EndCall) -> None:
        self.plan = plan
        self.lines = lines
        self.clock = clock
        self.timers = timers
        self.queue = queue
        self.callbacks = callbacks
        self.end = end
        # Each line's recordings in the order they were started: the recorder reports them in that order.
        self._takes: dict[str, deque[tuple[Take, Call]]] = defaultdict(deque)

    def is_open(self) -> bool:
        """The schedule now; while the wall clock is not yet set, the configured fallback decides."""
        return self.plan.schedule.is_open(self.clock.wall() if self.clock.synced() else None)

    def is_recording(self, call: Call) -> bool:
        return bool(call.line) and any(taken is call for _, taken in self._takes[call.line])

    def is_taking_voicemail(self, call: Call) -> bool:
        return ("voicemail", call) in self._takes[call.line]

    # --- the call is answered -----------------------------------------------------

    def answered(self, call: Call) -> list[object]:
        """The line is open: tell the caller about recording, turn a blocked caller away, or start the flow."""
        plan = self.plan
        if plan.recording_prompt and not call.blocked:
            call.node, call.playing = None, plan.recording_prompt  # the caller is told before anything is kept
            return [ev.Play(call.line, plan.recording_prompt)]
        if call.blocked:
            call.node = None
            if "blocked" in plan.prompts:
                call.playing = "blocked"
                return [ev.Play(call.line, "blocked")]
            return [ev.HangUp(call.line), *self.end(call, "blocked", "system", "caller is on the blocklist")]
        return self.begin(call)

    def begin(self, call: Call) -> list[object]:
        """The flow's start; a caller a sibling moved here, with what they chose there, goes straight to the
        queue (core/moves.py), hearing "connecting you" before the music."""
        if call.moved_route is None:
            return self.enter(call, self.plan.flow.start)
        actions = self.enter(call, call.moved_route)
        hold = ev.Play(call.line, self.queue.settings.hold_prompt, loop=True)
        if call.queued and hold in actions and CONNECTING in self.plan.prompts:
            actions[actions.index(hold)] = self.say(call, CONNECTING)  # the route's music follows (nodes.Route)
        return actions

    # --- the flow's inputs ----------------------------------------------------------

    def _active(self, line: str) -> tuple[Call, Node] | None:
        call = self.lines.call_on(line)
        if call is None or call.node is None or (call.connected_at is not None and call.released_at is None):
            return None
        node = self.plan.flow.nodes.get(call.node)
        return (call, node) if node is not None else None

    def prompt_finished(self, event: ev.PromptFinished) -> list[object]:
        call = self.lines.call_on(event.line)
        if call is not None and call.node is None and event.prompt == self.plan.recording_prompt == call.playing:
            self._takes[call.line].append(("call", call))
            start = ev.StartRecording(call.line, f"recordings/{call.id}.flac", 4 * 3600.0, math.inf, 1.0,
                                      stop_on_key=False)
            return [start, *self.begin(call)]
        if call is not None and call.blocked and call.node is None and event.prompt == call.playing:
            return [ev.HangUp(call.line), *self.end(call, "blocked", "system", "caller is on the blocklist")]
        active = self._active(event.line)
        if active is None or event.prompt != active[0].playing:
            return []  # a prompt that was replaced, or a call already past it
        call, node = active
        return KINDS[node.type].prompt_done(self, call, node)

    def dtmf(self, event: ev.DtmfReceived) -> list[object]:
        active = self._active(event.line)
        if active is None:
            return []
        call, node = active
        return KINDS[node.type].key(self, call, node, event.digit)

    def recording_finished(self, event: ev.RecordingFinished) -> list[object]:
        if not self._takes[event.line]:
            return []
        kind, call = self._takes[event.line].popleft()
        if kind == "speech":
            return self._spoken(call, event.path)
        if kind == "call":
            return [ev.SaveRecording(call.id, event.path, event.seconds)] if event.path else []
        actions: list[object] = []
        if event.path is not None:
            call.voicemail = True
            actions.append(ev.SaveVoicemail(call.id, event.path, event.seconds, call.caller))
        if self.lines.call_on(event.line) is call and call.node is not None:
            call.log(self.clock.wall(), "VOICEMAIL", detail=f"{event.seconds:.1f}s {event.reason}")
            actions += self.enter(call, self.plan.flow.nodes[call.node].next)
        return actions

    def _spoken(self, call: Call, path: str | None) -> list[object]:
        active = self._active(call.line)
        if active is not None and active[0] is call and active[1].type == "speak" and call.speech == "listening":
            return SPEAK.recorded(self, call, active[1], path)
        # Nobody waits for this answer any more (a key, a hang-up): the recogniser only deletes it, unheard.
        return [ev.Recognise(call.line, call.id, path, "", ())] if path else []

    def speech_heard(self, event: ev.SpeechHeard) -> list[object]:
        active = self._active(event.line)
        if active is None or active[1].type != "speak":
            return []  # the caller moved on (a key) or left
        return SPEAK.heard(self, *active, event)

    def transfer_result(self, event: ev.TransferResult) -> list[object]:
        call = self.lines.call_on(event.line)
        if call is not None and call.transfer_to == event.number and call.connected_at is not None:
            call.transfer_to = None
            if event.ok:  # asked for from the operator's console
                return self.end(call, "transferred", "operator", f"handed to {event.number}")
            call.log(self.clock.wall(), "FAILED", detail=f"transfer to {event.number}: {event.reason}")
            return []
        active = self._active(event.line)
        if active is None:
            return []
        call, node = active
        if event.ok:
            return self.end(call, "transferred", "system", f"handed to {event.number}")
        call.log(self.clock.wall(), "FAILED", detail=f"transfer to {event.number}: {event.reason}")
        return self.enter(call, node.on_fail)

    # --- the queue's timers, heard by the caller -------------------------------------

    def announce_position(self, call: Call) -> list[object]:
        return [ev.StopAudio(call.line), self.say(call, position_prompt(self.queue.position(call)))]

    def waited_too_long(self, call: Call) -> list[object]:
        """Nobody answered within the route's max wait: the flow's overflow path takes over."""
        node = self.plan.flow.nodes[named(call.node)]
        return [*self.queue.leave(call, "EXITWITHTIMEOUT"), ev.StopAudio(call.line), *self.enter(call, node.next)]

    def operator_done(self, call: Call) -> list[object] | None:
        """The operator hung up: the caller is asked the route's survey, if it has one (None: it has not)."""
        node = self.plan.flow.nodes.get(call.node or "")
        if node is None or node.type != "route" or not node.survey or isinstance(call, CallbackRequest):
            return None
        call.released_at = self.clock.monotonic()
        return self.queue.released(call) + self.enter(call, node.survey)

    # --- the steps a node kind may take (nodes.Steps) ---------------------------------------

    def say(self, call: Call, name: str | None, loop: bool = False) -> ev.Play:
        """Play a prompt in the caller's language when a variant exists (greeting_ru for greeting)."""
        call.playing = self._variant_of(call, named(name))
        return ev.Play(call.line, call.playing, loop)

    def variant(self, call: Call, name: str | None) -> str | None:
        return None if name is None else self._variant_of(call, name)

    def _variant_of(self, call: Call, name: str) -> str:
        variant = f"{name}_{call.language}" if call.language else None
        return variant if variant is not None and variant in self.plan.prompts else name

    def await_input(self, call: Call, node: Node) -> None:
        self.timers.start("input", call.id, self.clock.monotonic() + node.timeout)

    def stop_waiting(self, call: Call) -> None:
        self.timers.cancel("input", call.id)

    def take_voicemail(self, call: Call, start: ev.StartRecording) -> ev.StartRecording:
        self._takes[call.line].append(("voicemail", call))
        return start

    def take_speech(self, call: Call, start: ev.StartRecording) -> ev.StartRecording:
        self._takes[call.line].append(("speech", call))
        return start

    def hang_up(self, call: Call) -> list[object]:
        """The flow ends the call: hang up, with the outcome the call's path so far earned."""
        return [ev.HangUp(call.line), *self.end(call, self._outcome_at_end(call), "system", None)]

    def enter(self, call: Call, node_id: str | None) -> list[object]:
        self.stop_waiting(call)
        if node_id is None:  # a path the admin left open ends the call politely
            return self.hang_up(call)
        node = self.plan.flow.nodes.get(node_id)
        if node is None:
            return [ev.HangUp(call.line), *self.end(call, "failed", "system", f"flow has no node {node_id!r}")]
        call.node = node.id
        call.nodes.append(node.id)
        call.retries = 0
        return KINDS[node.type].enter(self, call, node)

    def _outcome_at_end(self, call: Call) -> str:
        if call.connected_at is not None:
            return "completed"
        if call.blocked:
            return "blocked"
        if call.voicemail:
            return "voicemail"
        if call.queued_mono is not None:
            return "no answer"
        return "closed" if call.after_hours else "ended by flow"

    # --- waiting for a key in vain -------------------------------------------------------

    def input_timeout(self, call: Call) -> list[object]:
        node = self.plan.flow.nodes[named(call.node)]
        return KINDS[node.type].timeout(self, call, node)
