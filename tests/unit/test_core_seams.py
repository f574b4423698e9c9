"""The core's seams: every event has a handler, an unknown one is refused loudly, timers belong to one owner."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import typing

import pytest

from appliance.core import events as ev
from appliance.core.call import Call, CallbackRequest
from appliance.core.timers import Timers
from tests.unit.test_switchboard import LINE, board, to_menu


def test_every_class_in_events_is_an_event_or_an_action() -> None:
    """A new event class left out of the Event union would escape the check below. They live in the package's
    modules by role; the package itself names every one (callers write `ev.HangUp`)."""
    modules = [ev, *(importlib.import_module(f"{ev.__name__}.{m.name}") for m in pkgutil.iter_modules(ev.__path__))]
    classes = {c for module in modules for _, c in inspect.getmembers(module, inspect.isclass)
               if c.__module__ == module.__name__}
    assert classes == {getattr(ev, name) for name in ev.__all__ if name not in ("Event", "Action")}
    assert classes == set(typing.get_args(ev.Event)) | set(typing.get_args(ev.Action))
    assert not set(typing.get_args(ev.Event)) & set(typing.get_args(ev.Action))


@pytest.mark.parametrize("event_type", typing.get_args(ev.Event), ids=lambda t: t.__name__)
def test_every_event_type_is_handled(event_type: type) -> None:
    sb, _ = board()
    values = {"line": LINE, "handset": "h1", "caller": None, "reason": "r", "prompt": "greeting", "digit": "1",
              "path": None, "seconds": 0.0, "outcome": "missed", "attempt": 1, "present": True, "sender": None,
              "text": "", "received_at": 0.0, "number": "+7", "ok": True, "how": "conference",
              "box": "office-z", "call_id": "c1"}
    fields = {f.name: values[f.name] for f in dataclasses.fields(event_type) if f.name in values}
    assert isinstance(sb.handle(event_type(**fields)), list)


def test_an_event_without_a_handler_is_a_loud_error_and_changes_nothing() -> None:
    @dataclasses.dataclass(frozen=True)
    class Stray:
        line: str

    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.PromptFinished(LINE, "main_menu"))
    clock.advance(60)  # the menu's timeout is due: a refused event must not fire it either
    with pytest.raises(TypeError, match="Stray"):
        sb.handle(Stray(LINE))
    assert sb.next_deadline() == clock() - 54
    assert [(c["node"], c["prompt"]) for c in sb.status()["calls"]] == [("menu", None)]  # waiting in silence for a key


def test_timers_fire_earliest_first_and_once() -> None:
    timers = Timers()
    timers.start("ring", "a", 5.0)
    timers.start("input", "b", 3.0)
    timers.start("maxwait", "a", 9.0)
    assert timers.next_deadline() == 3.0
    assert list(timers.due(6.0)) == [("input", "b"), ("ring", "a")]
    assert list(timers.due(6.0)) == []
    assert timers.next_deadline() == 9.0


def test_a_timer_cancelled_by_an_earlier_one_in_the_batch_does_not_fire() -> None:
    timers = Timers()
    timers.start("ring", "a", 1.0)
    timers.start("maxwait", "a", 2.0)
    fired = []
    for kind, call_id in timers.due(10.0):
        fired.append(kind)
        timers.cancel_call(call_id)
    assert fired == ["ring"] and timers.next_deadline() is None


def test_a_call_that_ends_leaves_no_timer_behind() -> None:
    """A queued caller rings a handset, waits with a max wait and hangs up: nothing of theirs is due later."""
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    assert sb.next_deadline() is not None
    sb.handle(ev.RemoteHangup(LINE))
    assert sb.next_deadline() is None


def test_a_call_is_not_a_callback_request() -> None:
    """Callback requests are their own type: a caller's call carries nothing of a dial-out."""
    call_fields = {f.name for f in dataclasses.fields(Call)}
    request_fields = {f.name for f in dataclasses.fields(CallbackRequest)}
    assert not call_fields & {"callback_number", "number", "attempts", "not_before"}
    assert {"number", "attempts", "not_before"} <= request_fields
    sb, _ = board()
    sb.request_callback("+79160000001")
    (waiting,) = sb.status()["waiting"]
    assert waiting["callback"] is True
