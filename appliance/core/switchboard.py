"""The switchboard: every line's call, driven by events and a clock, answering with actions.

It is the functional core of the box: no serial port, pin or sound card is
touched here, so every path through a call is tested with a fake clock.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable

from . import events as ev
from .call import Call
from .clock import Clock
from .flow import Flow, Node
from .router import HandsetState, Router
from .schedule import Schedule

log = logging.getLogger(__name__)

RINGBACK = "tone:ringback"  # a prompt name the audio side generates rather than loads


class Switchboard:
    def __init__(
        self,
        *,
        lines: Iterable[str],
        handsets: dict[str, HandsetState],
        flow: Flow,
        schedule: Schedule,
        clock: Clock,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.lines: dict[str, Call | None] = dict.fromkeys(lines)
        self.line_state: dict[str, str] = dict.fromkeys(self.lines, "starting")
        self.line_reason: dict[str, str | None] = dict.fromkeys(self.lines)
        self.router = Router(handsets)
        self.flow = flow
        self.schedule = schedule
        self.clock = clock
        self.new_id = new_id
        self._timers: dict[tuple[str, str], float] = {}  # (timer kind, line) -> deadline

    # --- public ---------------------------------------------------------------

    def handle(self, event: object) -> list[object]:
        """Apply one event; return what the hardware must do, in order."""
        actions = self._fire_timers()
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is not None:
            actions += handler(event)
        return actions

    def next_deadline(self) -> float | None:
        return min(self._timers.values(), default=None)

    def reconfigure(self, flow: Flow, schedule: Schedule) -> None:
        """A new config: calls already in a node keep going; new nodes come from the new flow."""
        self.flow = flow
        self.schedule = schedule

    def abort(self, line: str, reason: str) -> list[object]:
        """Something went wrong inside this line's call: end it cleanly, never half-way."""
        call = self.lines.get(line)
        if call is None:
            return []
        return [ev.HangUp(line), ev.StopAudio(line), *self._finish(call, "failed", "system", reason)]

    def status(self) -> dict:
        now = self.clock()
        return {
            "lines": [
                {"id": line, "state": self.line_state[line], "reason": self.line_reason[line],
                 "call": call.id if call else None}
                for line, call in self.lines.items()
            ],
            "handsets": [
                {"id": h.id, "operator": h.operator, "state": h.state, "skills": sorted(h.skills)}
                for h in self.router.handsets.values()
            ],
            "calls": [call.live(now) for call in self.lines.values() if call is not None],
        }

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
        return [ev.StopAudio(event.line), *self._finish(call, "failed", "system", event.reason)]

    def _on_IncomingCall(self, event: ev.IncomingCall) -> list[object]:
        if event.line not in self.lines or self.lines[event.line] is not None:
            return []  # repeated RINGs of the call already being answered
        call = Call(id=self.new_id(), line=event.line, caller=event.caller, started_at=self.clock())
        self.lines[event.line] = call
        return [ev.Answer(event.line), ev.CallStarted(call.id, call.line, call.caller, call.started_at)]

    def _on_CallerId(self, event: ev.CallerId) -> list[object]:
        call = self.lines.get(event.line)
        if call is not None and call.caller is None:
            call.caller = event.caller
        return []

    def _on_CallAnswered(self, event: ev.CallAnswered) -> list[object]:
        call = self.lines.get(event.line)
        if call is None or call.answered_at is not None:
            return []
        call.answered_at = self.clock()
        return self._enter(call, self.flow.start)

    def _on_AnswerFailed(self, event: ev.AnswerFailed) -> list[object]:
        call = self.lines.get(event.line)
        return self._finish(call, "failed", "system", event.reason) if call else []

    def _on_RemoteHangup(self, event: ev.RemoteHangup) -> list[object]:
        call = self.lines.get(event.line)
        if call is None:
            return []
        if call.connected_at is not None:
            outcome = "completed"
        elif call.route_started_at is not None:
            outcome = "abandoned"
        else:
            outcome = "left in menu"
        return [ev.StopAudio(event.line), *self._finish(call, outcome, "caller", event.reason)]

    # --- the flow -------------------------------------------------------------

    def _on_PromptFinished(self, event: ev.PromptFinished) -> list[object]:
        call = self.lines.get(event.line)
        if call is None or call.node is None or call.connected_at is not None:
            return []
        node = self.flow.nodes.get(call.node)
        if node is None:
            return []
        if node.type == "play" and event.prompt == node.prompt:
            return self._enter(call, node.next)
        if node.type == "menu" and event.prompt == node.prompt:
            self._timers[("menu", call.line)] = self.clock() + node.timeout
        if node.type == "menu" and event.prompt == node.invalid_prompt:
            return [ev.Play(call.line, node.prompt)]
        return []

    def _on_DtmfReceived(self, event: ev.DtmfReceived) -> list[object]:
        call = self.lines.get(event.line)
        if call is None or call.node is None or call.connected_at is not None:
            return []
        node = self.flow.nodes.get(call.node)
        if node is None:
            return []
        if node.type == "menu":
            return [ev.StopAudio(call.line), *self._menu_key(call, node, event.digit)]
        if node.type == "play":
            # Barge-in over an announcement: the key is kept for the menu that follows.
            call.typeahead.append(event.digit)
            return [ev.StopAudio(call.line), *self._enter(call, node.next)]
        return []

    def _enter(self, call: Call, node_id: str | None) -> list[object]:
        self._timers.pop(("menu", call.line), None)
        node = self.flow.nodes.get(node_id or "")
        if node is None:
            return [ev.HangUp(call.line), *self._finish(call, "failed", "system", f"flow has no node {node_id!r}")]
        call.node = node.id
        call.nodes.append(node.id)
        call.retries = 0
        if node.type == "play":
            return [ev.Play(call.line, node.prompt)]
        if node.type == "menu":
            if call.typeahead:
                return self._menu_key(call, node, call.typeahead.pop(0))
            return [ev.Play(call.line, node.prompt)]
        if node.type == "schedule":
            is_open = self.schedule.is_open(self.clock())
            call.after_hours = not is_open
            return self._enter(call, node.open if is_open else node.closed)
        if node.type == "route":
            return self._route(call, node)
        return [ev.HangUp(call.line), *self._finish(call, self._outcome_at_hangup(call), "system", None)]

    def _menu_key(self, call: Call, node: Node, digit: str) -> list[object]:
        self._timers.pop(("menu", call.line), None)
        target = node.keys.get(digit)
        if target is not None:
            call.path.append(digit)
            return self._enter(call, target)
        call.retries += 1
        if call.retries > node.retries:
            return self._enter(call, node.on_invalid or node.on_timeout)
        return [ev.Play(call.line, node.invalid_prompt or node.prompt)]

    def _menu_timeout(self, call: Call) -> list[object]:
        node = self.flow.nodes[call.node]
        call.retries += 1
        if call.retries > node.retries:
            return self._enter(call, node.on_timeout)
        return [ev.Play(call.line, node.prompt)]

    @staticmethod
    def _outcome_at_hangup(call: Call) -> str:
        if call.route_started_at is not None:
            return "no answer"
        return "closed" if call.after_hours else "ended by flow"

    # --- hand-off to operators ------------------------------------------------

    def _route(self, call: Call, node: Node) -> list[object]:
        call.skill = node.skill
        if call.route_started_at is None:
            call.route_started_at = self.clock()
        chosen = self.router.free_for(node.skill)
        if not chosen:
            return self._enter(call, node.next)
        for handset_id in chosen:
            self.router.handsets[handset_id].ringing_for = call.id
            call.ringing.add(handset_id)
        self._timers[("ring", call.line)] = self.clock() + node.ring_timeout
        return [ev.Play(call.line, RINGBACK, loop=True), *(ev.RingHandset(h) for h in chosen)]

    def _stop_ringing(self, call: Call) -> list[object]:
        stopped = sorted(call.ringing)
        for handset_id in stopped:
            self.router.handsets[handset_id].ringing_for = None
        call.ringing.clear()
        self._timers.pop(("ring", call.line), None)
        return [ev.StopRinging(h) for h in stopped]

    def _ring_timeout(self, call: Call) -> list[object]:
        node = self.flow.nodes[call.node]
        return [*self._stop_ringing(call), ev.StopAudio(call.line), *self._enter(call, node.next)]

    def _on_HookOff(self, event: ev.HookOff) -> list[object]:
        handset = self.router.handsets.get(event.handset)
        if handset is None:
            return []
        handset.off_hook = True
        call = self._call_by_id(handset.ringing_for)
        if call is None:
            return []
        # The first lift wins: the loop is single-threaded, so a second lift finds nothing ringing.
        actions = self._stop_ringing(call)
        handset.connected_to = call.id
        call.handset = handset.id
        call.operator = handset.operator
        call.connected_at = self.clock()
        return [*actions, ev.StopAudio(call.line), ev.ConnectAudio(handset.id, call.line)]

    def _on_HookOn(self, event: ev.HookOn) -> list[object]:
        handset = self.router.handsets.get(event.handset)
        if handset is None:
            return []
        handset.off_hook = False
        call = self._call_by_id(handset.connected_to)
        if call is None:
            return []
        return [ev.HangUp(call.line), *self._finish(call, "completed", "operator", "operator hung up")]

    # --- ending ---------------------------------------------------------------

    def _finish(self, call: Call, outcome: str, ended_by: str, reason: str | None) -> list[object]:
        actions = self._stop_ringing(call)
        self._timers.pop(("menu", call.line), None)
        if call.handset is not None:
            handset = self.router.handsets[call.handset]
            if handset.connected_to == call.id:
                handset.connected_to = None
                actions.append(ev.DisconnectAudio(handset.id))
        call.ended_at = self.clock()
        call.outcome, call.ended_by, call.reason = outcome, ended_by, reason
        self.lines[call.line] = None
        log.info("call %s on %s ended: %s (%s)", call.id, call.line, outcome, reason or ended_by)
        return [*actions, ev.CallEnded(call.record())]

    def _call_by_id(self, call_id: str | None) -> Call | None:
        if call_id is None:
            return None
        return next((c for c in self.lines.values() if c is not None and c.id == call_id), None)

    def _fire_timers(self) -> list[object]:
        now = self.clock()
        actions: list[object] = []
        due = sorted((deadline, key) for key, deadline in self._timers.items() if deadline <= now)
        for _, (kind, line) in due:
            if self._timers.pop((kind, line), None) is None:
                continue  # an earlier timer in this batch already cleared it
            call = self.lines.get(line)
            if call is None:
                continue
            actions += self._menu_timeout(call) if kind == "menu" else self._ring_timeout(call)
        return actions

