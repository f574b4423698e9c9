"""The call record is computed once, in the core, and the store writes it as it is (real SQLite file)."""

from __future__ import annotations

import dataclasses

import pytest

from appliance.core import events as ev
from appliance.core.record import CallRecord
from appliance.records.store.calls import CallStore
from appliance.records.store.queries import CallLog
from tests.unit.test_switchboard import LINE, board, classic_document, to_menu


def finished(actions: list) -> CallRecord:
    (record,) = [a.record for a in actions if isinstance(a, ev.CallEnded)]
    return record


def served_and_rated() -> CallRecord:
    """Menu key 1, 4 s in the queue (the wall clock stepped back an hour meanwhile), 60 s talk, survey 4."""
    document_flow = {
        "start": "menu",
        "nodes": {
            "menu": {"type": "menu", "prompt": "main_menu", "keys": {"1": "legal"}},
            "legal": {"type": "route", "skill": "legal", "max_wait": 60, "next": "bye", "survey": "rate"},
            "rate": {"type": "survey", "prompt": "survey", "next": "bye"},
            "bye": {"type": "hangup"},
        },
    }
    document = classic_document()
    document["flow"] = document_flow
    sb, clock = board(document)
    sb.handle(ev.IncomingCall(LINE, "+79161234567"))
    clock.advance(0.5)
    sb.handle(ev.CallAnswered(LINE))
    sb.handle(ev.DtmfReceived(LINE, "1"))
    clock.advance(2)
    clock.jump(-3600)
    clock.advance(2)
    sb.handle(ev.HookOff("h1"))
    clock.advance(60)
    sb.handle(ev.HookOn("h1"))
    sb.handle(ev.PromptFinished(LINE, "survey"))
    clock.advance(3)
    return finished(sb.handle(ev.DtmfReceived(LINE, "4")))  # no thank-you prompt: the flow hangs up


def test_the_core_hands_over_a_typed_record_with_its_milestones() -> None:
    record = served_and_rated()
    assert isinstance(record, CallRecord)
    assert record.wait_seconds == 4 and record.talk_seconds == 60  # the monotonic clock: the step changes neither
    assert record.connected_at is not None and record.queued_at is not None
    assert record.connected_at - record.queued_at == 4 - 3600  # wall stamps, as the wall clock said
    assert record.survey_score == 4 and not record.abandoned
    assert [e["event"] for e in record.events].count("ENTERQUEUE") == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.outcome = "changed"  # type: ignore[misc]


def test_a_caller_who_gives_up_waiting_is_abandoned() -> None:
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    clock.advance(7)
    record = finished(sb.handle(ev.RemoteHangup(LINE)))
    assert record.abandoned and record.outcome == "abandoned"
    assert record.connected_at is None and record.wait_seconds == 7 and record.talk_seconds is None


def test_the_store_writes_the_record_it_is_given(tmp_path) -> None:
    record = served_and_rated()
    store = CallStore(tmp_path / "calls.db")
    store.call_started(record.id, record.line, record.caller, record.started_at)
    store.call_ended(record.as_dict())
    store.close()
    shown = CallLog(tmp_path / "calls.db").call(record.id)
    assert {k: shown[k] for k in ("queued_at", "connected_at", "wait_seconds", "talk_seconds", "survey_score")} == {
        "queued_at": record.queued_at, "connected_at": record.connected_at, "wait_seconds": 4, "talk_seconds": 60,
        "survey_score": 4}
