"""What each kind of flow node does with a caller: the IVR half of the switchboard.

A mixin rather than a separate object because every step needs the call's
line, its timers and the hand-off; the seam is "what a node means" here
versus "lines, handsets and records" in switchboard.py.
"""

from __future__ import annotations

from . import events as ev
from .call import Call
from .flow import Node
from .handoff import wait_prompt
from .timers import Timers

BEEP = "tone:beep"


class FlowSteps:
    # Provided by Switchboard; declared here so the seam is explicit.
    flow: object
    schedule: object
    callers: object
    prompts: frozenset[str]
    announcement: str | None
    _timers: Timers
    _takes: dict[str, object]

    # --- prompts ----------------------------------------------------------------

    def _say(self, call: Call, name: str, loop: bool = False) -> ev.Play:
        """Play a prompt in the caller's language when a variant exists (greeting_ru for greeting)."""
        variant = f"{name}_{call.language}" if call.language else None
        call.playing = variant if variant in self.prompts else name
        return ev.Play(call.line, call.playing, loop)

    def _await_input(self, call: Call, node: Node) -> None:
        self._timers.start("input", call.id, self.clock.monotonic() + node.timeout)

    # --- entering a node ----------------------------------------------------------

    def _enter(self, call: Call, node_id: str | None) -> list[object]:
        self._timers.cancel("input", call.id)
        if node_id is None:  # a path the admin left open ends the call politely
            return [ev.HangUp(call.line), *self._finish(call, self._outcome_at_end(call), "system", None)]
        node = self.flow.nodes.get(node_id)
        if node is None:
            return [ev.HangUp(call.line), *self._finish(call, "failed", "system", f"flow has no node {node_id!r}")]
        call.node = node.id
        call.nodes.append(node.id)
        call.retries = 0
        step = getattr(self, f"_enter_{node.type}")
        return step(call, node)

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

    _enter_survey = _enter_play

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
            matched = self.schedule.is_holiday(now)
            call.after_hours = call.after_hours or matched
        elif node.on == "open":
            matched = self.is_open()
        elif node.on == "caller_list":
            matched = self.callers.in_list(node.list, call.caller)
        else:  # collected digits, e.g. a case number keyed in
            matched = call.collected.get(node.var) == node.value
        return self._enter(call, node.match if matched else node.otherwise)

    def _enter_route(self, call: Call, node: Node) -> list[object]:
        return self.handoff.enqueue(call, node.skill, node.max_wait)

    def _enter_voicemail(self, call: Call, node: Node) -> list[object]:
        if node.prompt:
            return [self._say(call, node.prompt)]
        return [self._say(call, BEEP)]

    def _enter_callback(self, call: Call, node: Node) -> list[object]:
        number = call.collected.get(node.var) or call.caller
        actions = self._request_callback(call, number)
        if node.prompt and number:
            return [*actions, self._say(call, node.prompt)]
        return actions + self._enter(call, node.next)

    def _enter_sms(self, call: Call, node: Node) -> list[object]:
        actions: list[object] = []
        if call.caller:
            call.log(self.clock.wall(), "SMS", detail=node.text)
            actions.append(ev.SendSms(call.line, call.caller, node.text))
        return actions + self._enter(call, node.next)

    def _enter_transfer(self, call: Call, node: Node) -> list[object]:
        if node.prompt:
            return [self._say(call, node.prompt)]
        return self._transfer(call, node)

    def _transfer(self, call: Call, node: Node) -> list[object]:
        call.log(self.clock.wall(), "TRANSFER", detail=node.number)
        call.playing = None
        return [ev.StopAudio(call.line), ev.Transfer(call.line, node.number)]

    def _enter_hangup(self, call: Call, node: Node) -> list[object]:
        if node.prompt:
            return [self._say(call, node.prompt)]
        return [ev.HangUp(call.line), *self._finish(call, self._outcome_at_end(call), "system", None)]

    def _outcome_at_end(self, call: Call) -> str:
        if call.connected_at is not None:
            return "completed"
        if call.blocked:
            return "blocked"
        if call.voicemail:
            return "voicemail"
        if call.route_started_at is not None:
            return "no answer"
        return "closed" if call.after_hours else "ended by flow"

    # --- a prompt played to its end --------------------------------------------------

    def _prompt_done(self, call: Call, node: Node) -> list[object]:
        kind = node.type
        if call.playing == self.announcement and call.announced and kind == "play":
            return self._enter(call, node.next)
        if kind == "play":
            if node.id == self.flow.start and self.announcement and not call.announced:
                # The emergency announcement comes right after the greeting, to every caller.
                call.announced = True
                call.playing = self.announcement
                return [ev.Play(call.line, self.announcement)]
            return self._enter(call, node.next)
        if kind == "survey" and call.survey_score is not None:
            return self._enter(call, node.next)  # the thank-you ended
        if kind == "menu" and call.playing != self._variant(call, node.prompt):
            return [self._say(call, node.prompt)]  # the invalid/timeout prompt ended: the menu again
        if kind in ("menu", "collect", "language", "survey"):
            self._await_input(call, node)
            return []
        if kind == "route" and call.queued:
            if (call.playing or "").startswith("queue.position."):
                wait = wait_prompt(self.handoff.estimated_minutes(call))
                if wait in self.prompts:
                    return [self._say(call, wait)]  # then the estimated wait, then the music again
            return [self._say(call, self.handoff.settings.hold_prompt, loop=True)]
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
            return [ev.HangUp(call.line), *self._finish(call, self._outcome_at_end(call), "system", None)]
        return []

    def _variant(self, call: Call, name: str | None) -> str | None:
        variant = f"{name}_{call.language}" if call.language else None
        return variant if variant in self.prompts else name

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
            return [*self.handoff.leave(call, "EXITWITHKEY", digit), ev.StopAudio(call.line),
                    *self._enter(call, node.keys[digit])]
        if kind == "survey" and digit in "12345" and call.survey_score is None:
            call.survey_score = int(digit)
            call.log(self.clock.wall(), "SURVEY", detail=digit)
            self._timers.cancel("input", call.id)
            if node.thanks_prompt:
                return [ev.StopAudio(call.line), self._say(call, node.thanks_prompt)]
            return [ev.StopAudio(call.line), *self._enter(call, node.next)]
        return []

    def _key_menu(self, call: Call, node: Node, digit: str) -> list[object]:
        self._timers.cancel("input", call.id)
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

    def _input_timeout(self, call: Call) -> list[object]:
        node = self.flow.nodes[call.node]
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
