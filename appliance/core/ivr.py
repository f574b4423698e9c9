"""The IVR: what each flow node does with a caller, and what the caller's keys, prompts and recordings lead to.

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
from .plan import CallPlan
from .queue import Queue, position_prompt, wait_prompt
from .timers import Timers

BEEP = "tone:beep"

EndCall = Callable[[Call, str, str, "str | None"], list[object]]  # (call, outcome, ended by, reason) -> actions
Take = Literal["call", "voicemail"]  # a whole-call recording, or a voicemail


def _named(value: str | None) -> str:
    """A node field the flow's parser requires for this node type (prompt, next...)."""
    if value is None:
        raise ValueError("a flow node lacks a field its type requires")
    return value


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
        return self._enter(call, plan.flow.start)

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
            return [start, *self._enter(call, self.plan.flow.start)]
        if call is not None and call.blocked and call.node is None and event.prompt == call.playing:
            return [ev.HangUp(call.line), *self.end(call, "blocked", "system", "caller is on the blocklist")]
        active = self._active(event.line)
        if active is None or event.prompt != active[0].playing:
            return []  # a prompt that was replaced, or a call already past it
        return self._prompt_done(*active)

    def dtmf(self, event: ev.DtmfReceived) -> list[object]:
        active = self._active(event.line)
        return self._key(active[0], active[1], event.digit) if active else []

    def recording_finished(self, event: ev.RecordingFinished) -> list[object]:
        if not self._takes[event.line]:
            return []
        kind, call = self._takes[event.line].popleft()
        if kind == "call":
            return [ev.SaveRecording(call.id, event.path, event.seconds)] if event.path else []
        actions: list[object] = []
        if event.path is not None:
            call.voicemail = True
            actions.append(ev.SaveVoicemail(call.id, event.path, event.seconds, call.caller))
        if self.lines.call_on(event.line) is call and call.node is not None:
            call.log(self.clock.wall(), "VOICEMAIL", detail=f"{event.seconds:.1f}s {event.reason}")
            actions += self._enter(call, self.plan.flow.nodes[call.node].next)
        return actions

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
        return self._enter(call, node.on_fail)

    # --- the queue's timers, heard by the caller -------------------------------------

    def announce_position(self, call: Call) -> list[object]:
        return [ev.StopAudio(call.line), self._say(call, position_prompt(self.queue.position(call)))]

    def waited_too_long(self, call: Call) -> list[object]:
        """Nobody answered within the route's max wait: the flow's overflow path takes over."""
        node = self.plan.flow.nodes[_named(call.node)]
        return [*self.queue.leave(call, "EXITWITHTIMEOUT"), ev.StopAudio(call.line), *self._enter(call, node.next)]

    def operator_done(self, call: Call) -> list[object] | None:
        """The operator hung up: the caller is asked the route's survey, if it has one (None: it has not)."""
        node = self.plan.flow.nodes.get(call.node or "")
        if node is None or node.type != "route" or not node.survey or isinstance(call, CallbackRequest):
            return None
        call.released_at = self.clock.monotonic()
        return self.queue.released(call) + self._enter(call, node.survey)

    # --- prompts ----------------------------------------------------------------

    def _say(self, call: Call, name: str | None, loop: bool = False) -> ev.Play:
        """Play a prompt in the caller's language when a variant exists (greeting_ru for greeting)."""
        call.playing = self._variant_of(call, _named(name))
        return ev.Play(call.line, call.playing, loop)

    def _variant(self, call: Call, name: str | None) -> str | None:
        return None if name is None else self._variant_of(call, name)

    def _variant_of(self, call: Call, name: str) -> str:
        variant = f"{name}_{call.language}" if call.language else None
        return variant if variant is not None and variant in self.plan.prompts else name

    def _await_input(self, call: Call, node: Node) -> None:
        self.timers.start("input", call.id, self.clock.monotonic() + node.timeout)

    # --- entering a node ----------------------------------------------------------

    def _enter(self, call: Call, node_id: str | None) -> list[object]:
        self.timers.cancel("input", call.id)
        if node_id is None:  # a path the admin left open ends the call politely
            return [ev.HangUp(call.line), *self.end(call, self._outcome_at_end(call), "system", None)]
        node = self.plan.flow.nodes.get(node_id)
        if node is None:
            return [ev.HangUp(call.line), *self.end(call, "failed", "system", f"flow has no node {node_id!r}")]
        call.node = node.id
        call.nodes.append(node.id)
        call.retries = 0
        steps: dict[str, Callable[[Call, Node], list[object]]] = {
            "play": self._enter_play, "survey": self._enter_play, "menu": self._enter_menu,
            "language": self._enter_language, "collect": self._enter_collect, "schedule": self._enter_schedule,
            "branch": self._enter_branch, "route": self._enter_route, "voicemail": self._enter_voicemail,
            "callback": self._enter_callback, "sms": self._enter_sms, "transfer": self._enter_transfer,
            "hangup": self._enter_hangup,
        }
        return steps[node.type](call, node)

    def _enter_play(self, call: Call, node: Node) -> list[object]:
        return [self._say(call, node.prompt)]

    def _enter_menu(self, call: Call, node: Node) -> list[object]:
        if call.typeahead:
            return self._key_menu(call, node, call.typeahead.pop(0))
        return [self._say(call, node.prompt)]

    def _enter_language(self, call: Call, node: Node) -> list[object]:
        if call.typeahead and call.typeahead[0] in node.keys:
            return self._key(call, node, call.typeahead.pop(0))[1:]  # nothing is playing yet to stop
        return [self._say(call, node.prompt)]

    def _enter_collect(self, call: Call, node: Node) -> list[object]:
        call.digits = ""
        return [self._say(call, node.prompt)]

    def _enter_schedule(self, call: Call, node: Node) -> list[object]:
        is_open = self.is_open()
        call.after_hours = not is_open
        return self._enter(call, node.open if is_open else node.closed)

    def _enter_branch(self, call: Call, node: Node) -> list[object]:
        now = self.clock.wall() if self.clock.synced() else None  # None: the date is not known yet
        if node.on == "holiday":
            matched = self.plan.schedule.is_holiday(now)
            call.after_hours = call.after_hours or matched
        elif node.on == "open":
            matched = self.is_open()
        elif node.on == "caller_list":
            matched = self.plan.callers.in_list(_named(node.list), call.caller)
        else:  # collected digits, e.g. a case number keyed in
            matched = call.collected.get(node.var) == node.value
        return self._enter(call, node.match if matched else node.otherwise)

    def _enter_route(self, call: Call, node: Node) -> list[object]:
        return self.queue.enqueue(call, node.skill, node.max_wait)

    def _enter_voicemail(self, call: Call, node: Node) -> list[object]:
        return [self._say(call, node.prompt or BEEP)]

    def _enter_callback(self, call: Call, node: Node) -> list[object]:
        number = call.collected.get(node.var) or call.caller
        actions = self.callbacks.request(call, number)
        if node.prompt and number:
            return [*actions, self._say(call, node.prompt)]
        return actions + self._enter(call, node.next)

    def _enter_sms(self, call: Call, node: Node) -> list[object]:
        actions: list[object] = []
        if call.caller:
            call.log(self.clock.wall(), "SMS", detail=node.text)
            actions.append(ev.SendSms(call.line, call.caller, _named(node.text)))
        return actions + self._enter(call, node.next)

    def _enter_transfer(self, call: Call, node: Node) -> list[object]:
        if node.prompt:
            return [self._say(call, node.prompt)]
        return self._transfer(call, node)

    def _transfer(self, call: Call, node: Node) -> list[object]:
        call.log(self.clock.wall(), "TRANSFER", detail=node.number)
        call.playing = None
        return [ev.StopAudio(call.line), ev.Transfer(call.line, _named(node.number))]

    def _enter_hangup(self, call: Call, node: Node) -> list[object]:
        if node.prompt:
            return [self._say(call, node.prompt)]
        return [ev.HangUp(call.line), *self.end(call, self._outcome_at_end(call), "system", None)]

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

    # --- a prompt played to its end --------------------------------------------------

    def _prompt_done(self, call: Call, node: Node) -> list[object]:
        kind = node.type
        announcement = self.plan.announcement
        if call.playing == announcement and call.announced and kind == "play":
            return self._enter(call, node.next)
        if kind == "play":
            if node.id == self.plan.flow.start and announcement and not call.announced:
                # The emergency announcement comes right after the greeting, to every caller.
                call.announced = True
                call.playing = announcement
                return [ev.Play(call.line, announcement)]
            return self._enter(call, node.next)
        if kind == "survey" and call.survey_score is not None:
            return self._enter(call, node.next)  # the thank-you ended
        if kind == "menu" and call.playing != self._variant(call, node.prompt):
            return [self._say(call, node.prompt)]  # the invalid/timeout prompt ended: the menu again
        if kind in ("menu", "collect", "language", "survey"):
            call.playing = None  # the caller hears silence now, and the status says so (not the prompt that ended)
            self._await_input(call, node)
            return []
        if kind == "route" and call.queued:
            if (call.playing or "").startswith("queue.position."):
                wait = wait_prompt(self.queue.estimated_minutes(call))
                if wait in self.plan.prompts:
                    return [self._say(call, wait)]  # then the estimated wait, then the music again
            return [self._say(call, self.queue.settings.hold_prompt, loop=True)]
        if kind == "voicemail":
            if call.playing == BEEP:
                call.playing = None
                self._takes[call.line].append(("voicemail", call))
                return [ev.StartRecording(call.line, f"voicemail/{call.id}.flac", node.max_seconds,
                                          node.silence_seconds, node.min_seconds)]
            return [self._say(call, BEEP)]
        if kind == "callback":
            return self._enter(call, node.next)
        if kind == "transfer":
            return self._transfer(call, node)
        if kind == "hangup":
            return [ev.HangUp(call.line), *self.end(call, self._outcome_at_end(call), "system", None)]
        return []

    # --- a key pressed ---------------------------------------------------------------

    def _key(self, call: Call, node: Node, digit: str) -> list[object]:
        kind = node.type
        if kind == "menu":
            return [ev.StopAudio(call.line), *self._key_menu(call, node, digit)]
        if kind == "play":
            # Barge-in over an announcement: the key is kept for the menu that follows.
            call.typeahead.append(digit)
            return [ev.StopAudio(call.line), *self._enter(call, node.next)]
        if kind == "collect":
            return self._key_collect(call, node, digit)
        if kind == "language" and digit in node.keys:
            call.language = node.keys[digit]
            call.log(self.clock.wall(), "KEY", detail=digit)
            return [ev.StopAudio(call.line), *self._enter(call, node.next)]
        if kind == "route" and call.queued and digit in node.keys:
            call.path.append(digit)
            return [*self.queue.leave(call, "EXITWITHKEY", digit), ev.StopAudio(call.line),
                    *self._enter(call, node.keys[digit])]
        if kind == "survey" and digit in "12345" and call.survey_score is None:
            call.survey_score = int(digit)
            call.log(self.clock.wall(), "SURVEY", detail=digit)
            self.timers.cancel("input", call.id)
            if node.thanks_prompt:
                return [ev.StopAudio(call.line), self._say(call, node.thanks_prompt)]
            return [ev.StopAudio(call.line), *self._enter(call, node.next)]
        return []

    def _key_menu(self, call: Call, node: Node, digit: str) -> list[object]:
        self.timers.cancel("input", call.id)
        target = node.keys.get(digit)
        if target is not None:
            call.path.append(digit)
            call.log(self.clock.wall(), "KEY", detail=digit)
            return self._enter(call, target)
        call.retries += 1
        if call.retries > node.retries:
            return self._enter(call, node.on_invalid or node.on_timeout)
        return [self._say(call, node.invalid_prompt or node.prompt)]

    def _key_collect(self, call: Call, node: Node, digit: str) -> list[object]:
        actions: list[object] = [ev.StopAudio(call.line)] if not call.digits else []
        if digit == node.terminator and not node.length:
            return actions + self._collected(call, node)
        call.digits += digit
        if node.length and len(call.digits) >= node.length:
            return actions + self._collected(call, node)
        self._await_input(call, node)
        return actions

    def _collected(self, call: Call, node: Node) -> list[object]:
        call.collected[node.var] = call.digits
        call.log(self.clock.wall(), "COLLECT", detail=f"{node.var}={call.digits}")
        return self._enter(call, node.next)

    # --- waiting for a key in vain -------------------------------------------------------

    def input_timeout(self, call: Call) -> list[object]:
        node = self.plan.flow.nodes[_named(call.node)]
        if node.type == "collect":
            if call.digits:
                return self._collected(call, node)
            return self._enter(call, node.on_timeout or node.next)
        if node.type in ("language", "survey"):
            return self._enter(call, node.next)
        call.retries += 1
        if call.retries > node.retries:
            return self._enter(call, node.on_timeout)
        return [self._say(call, node.timeout_prompt or node.prompt)]
