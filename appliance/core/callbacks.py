"""Callbacks: a caller asks to be called back, keeps their place in line, and is dialled once an operator lifts.

The seam is "calling people back" versus "answering them": requests wait in the same queue as callers,
and take a free line only when an operator is on the handset.
"""

from __future__ import annotations

from collections.abc import Callable

from appliance.core.lean import lean

from . import events as ev
from .call import Call, CallbackRequest
from .clock import Clock
from .lines import Lines
from .plan import CallPlan
from .queue import Queue


@lean(frozen=True)
class CallbackSettings:
    max_attempts: int = 3  # dial-outs before a request is given up
    retry_after: float = 300.0  # seconds between a failed attempt and the next


class Callbacks:
    def __init__(self, settings: CallbackSettings, plan: CallPlan, lines: Lines, queue: Queue, clock: Clock,
                 new_id: Callable[[], str]) -> None:
        self.settings = settings
        self.plan = plan
        self.lines = lines
        self.queue = queue
        self.clock = clock
        self.new_id = new_id
        self.requests: dict[str, CallbackRequest] = {}  # by id, waiting or being dialled

    def restore(self, request_id: str, number: str, attempts: int) -> list[object]:
        """A request still waiting when the daemon last stopped keeps its place in line."""
        request = CallbackRequest(id=request_id, line="", caller=number, started_at=self.clock.wall(),
                                  started_mono=self.clock.monotonic(), number=number, attempts=attempts)
        self.requests[request.id] = request
        return self.queue.enqueue(request, None, None)

    def request(self, call: Call | None, number: str | None, operator: str | None = None) -> list[object]:
        """File a request to call `number` back, from a caller's call or (call None) from the web page; with
        `operator`, it is theirs: their desk rings first, then the box dials the caller from the helpline's line."""
        if not number:
            return []
        request = CallbackRequest(id=self.new_id(), line="", caller=number, started_at=self.clock.wall(),
                                  started_mono=self.clock.monotonic(), number=number, for_operator=operator)
        request.priority = self.plan.callers.is_priority(number)
        if call is not None:
            call.log(self.clock.wall(), "CALLBACK_REQUEST", detail=number)
            request.path = list(call.path)
        self.requests[request.id] = request
        return [ev.SaveCallback(request.id, call.id if call else None, number, "waiting", 0),
                *self.queue.enqueue(request, call.skill if call else None, None)]

    def by_id(self, request_id: str | None) -> CallbackRequest | None:
        return self.requests.get(request_id) if request_id else None

    def forget(self, request: CallbackRequest) -> None:
        self.requests.pop(request.id, None)

    def withdraw(self, request: CallbackRequest) -> list[object]:
        """The caller was erased: a request still waiting (an operator's desk may be ringing for it) is dropped
        without a trace; one already dialling is a call, which erasure refuses until it ends."""
        if request.line:
            raise ValueError(f"callback {request.id} is being dialled on line {request.line}")
        self.forget(request)
        return self.queue.leave(request, "ERASED")

    def dial(self, request: CallbackRequest) -> list[object]:
        """The operator is on the handset: take a free line and dial the caller, the operator listening."""
        number, handset = request.number, request.handset
        if handset is None:
            raise ValueError(f"callback {request.id}: dialled before an operator took it")
        line = self.lines.free()
        if line is None:
            return self._failed(request, "no free line")
        request.line, request.attempts = line, request.attempts + 1
        self.lines.calls[line] = request
        request.log(self.clock.wall(), "DIAL", detail=number)
        return [ev.ConnectAudio(handset, line), ev.Dial(line, number),
                ev.SaveCallback(request.id, None, number, "dialling", request.attempts)]

    def dial_answered(self, event: ev.DialAnswered) -> list[object]:
        request = self.lines.call_on(event.line)
        if not isinstance(request, CallbackRequest) or request.connected_at is not None:
            return []
        request.connected_at = request.answered_at = self.clock.wall()
        request.connected_mono = self.clock.monotonic()
        request.log(request.connected_at, "CONNECT", handset=request.handset, detail=request.operator)
        return [ev.SaveCallback(request.id, None, request.number, "done", request.attempts)]

    def dial_failed(self, event: ev.DialFailed) -> list[object]:
        request = self.lines.call_on(event.line)
        if not isinstance(request, CallbackRequest):
            return []
        if request.ringing:  # the operator's own phone, dialled first, did not answer: it waits for them again
            return self.queue.stop_ringing(request, unanswered=True) + self.queue.dispatch()
        self.lines.calls[event.line] = None
        return [*self.queue.released(request), *self._failed(request, event.reason)]

    def operator_gave_up(self, request: CallbackRequest) -> list[object]:
        """The operator hung up before the caller answered: try again later."""
        self.lines.calls[request.line] = None
        return [ev.HangUp(request.line), *self.queue.released(request),
                *self._failed(request, "operator hung up before the answer")]

    def _failed(self, request: CallbackRequest, reason: str) -> list[object]:
        number = request.number
        request.log(self.clock.wall(), "FAILED", detail=reason)
        request.handset = request.operator = None
        request.line = ""
        if request.attempts >= self.settings.max_attempts:
            self.forget(request)
            return [ev.SaveCallback(request.id, None, number, "gave up", request.attempts, reason)]
        request.not_before = self.clock.monotonic() + self.settings.retry_after
        return [ev.SaveCallback(request.id, None, number, "waiting", request.attempts, reason),
                *self.queue.enqueue(request, request.skill, None)]
