"""Callbacks: a caller asks to be called back, keeps their place in line, and is dialled once an operator lifts.

A mixin of the switchboard, like ivr.py: the seam is "calling people back" versus "answering them".
"""

from __future__ import annotations

from dataclasses import dataclass

from . import events as ev
from .call import Call


@dataclass(frozen=True)
class CallbackSettings:
    max_attempts: int = 3  # dial-outs before a request is given up
    retry_after: float = 300.0  # seconds between a failed attempt and the next


class CallbackSteps:
    # Provided by Switchboard.
    lines: dict[str, Call | None]
    line_state: dict[str, str]
    callbacks: CallbackSettings
    _callbacks: dict[str, Call]

    def restore_callback(self, request_id: str, number: str, attempts: int) -> list[object]:
        """A request still waiting when the daemon last stopped keeps its place in line."""
        request = Call(id=request_id, line="", caller=number, started_at=self.clock.wall(),
                       started_mono=self.clock.monotonic(), callback_number=number)
        request.attempts = attempts
        self._callbacks[request.id] = request
        return self.handoff.enqueue(request, None, None)

    def _request_callback(self, call: Call | None, number: str | None) -> list[object]:
        if not number:
            return []
        request = Call(id=self.new_id(), line="", caller=number, started_at=self.clock.wall(),
                       started_mono=self.clock.monotonic(), callback_number=number)
        request.priority = self.callers.is_priority(number)
        if call is not None:
            call.log(self.clock.wall(), "CALLBACK_REQUEST", detail=number)
            request.path = list(call.path)
        self._callbacks[request.id] = request
        return [ev.SaveCallback(request.id, call.id if call else None, number, "waiting", 0),
                *self.handoff.enqueue(request, call.skill if call else None, None)]

    def _callback_by_id(self, call_id: str | None) -> Call | None:
        return self._callbacks.get(call_id) if call_id else None

    def _dial_callback(self, request: Call) -> list[object]:
        """The operator is on the handset: take a free line and dial the caller, the operator listening."""
        line = next((n for n, c in self.lines.items() if c is None and self.line_state[n] == "up"), None)
        if line is None:
            return self._callback_failed(request, "no free line")
        request.line, request.attempts = line, request.attempts + 1
        self.lines[line] = request
        request.log(self.clock.wall(), "DIAL", detail=request.callback_number)
        return [ev.ConnectAudio(request.handset, line), ev.Dial(line, request.callback_number),
                ev.SaveCallback(request.id, None, request.callback_number, "dialling", request.attempts)]

    def _on_DialAnswered(self, event: ev.DialAnswered) -> list[object]:
        request = self.lines.get(event.line)
        if request is None or request.callback_number is None or request.connected_at is not None:
            return []
        request.connected_at = request.answered_at = self.clock.wall()
        request.connected_mono = self.clock.monotonic()
        request.log(request.connected_at, "CONNECT", handset=request.handset, detail=request.operator)
        return [ev.SaveCallback(request.id, None, request.callback_number, "done", request.attempts)]

    def _on_DialFailed(self, event: ev.DialFailed) -> list[object]:
        request = self.lines.get(event.line)
        if request is None or request.callback_number is None:
            return []
        self.lines[event.line] = None
        return [*self.handoff.released(request), *self._callback_failed(request, event.reason)]

    def _callback_failed(self, request: Call, reason: str) -> list[object]:
        request.log(self.clock.wall(), "FAILED", detail=reason)
        request.handset = request.operator = None
        request.line = ""
        if request.attempts >= self.callbacks.max_attempts:
            self._callbacks.pop(request.id, None)
            return [ev.SaveCallback(request.id, None, request.callback_number, "gave up", request.attempts, reason)]
        request.not_before = self.clock.monotonic() + self.callbacks.retry_after
        return [ev.SaveCallback(request.id, None, request.callback_number, "waiting", request.attempts, reason),
                *self.handoff.enqueue(request, request.skill, None)]

