"""The call logic with a fake clock: every path a caller can take through the default flow."""

from __future__ import annotations

import itertools

import pytest

from appliance import config as configuration
from appliance.core import events as ev
from appliance.core.clock import FakeClock
from appliance.core.schedule import Schedule
from appliance.core.switchboard import RINGBACK, Switchboard
from appliance.service.switchboard_setup import make_switchboard

LINE = "gsm1"

# A small classic flow, fixed here so the core's behaviour is tested apart from the shipped default flow.
CLASSIC_FLOW = {
    "start": "welcome",
    "nodes": {
        "welcome": {"type": "play", "prompt": "greeting", "next": "hours"},
        "hours": {"type": "schedule", "open": "menu", "closed": "after_hours"},
        "menu": {"type": "menu", "prompt": "main_menu", "invalid_prompt": "invalid", "timeout": 6, "retries": 2,
                 "keys": {"1": "legal", "2": "psychology", "0": "anyone"}, "on_timeout": "anyone"},
        "legal": {"type": "route", "skill": "legal", "max_wait": 60, "next": "busy"},
        "psychology": {"type": "route", "skill": "psychology", "max_wait": 60, "next": "busy"},
        "anyone": {"type": "route", "skill": "general", "max_wait": 60, "next": "busy"},
        "busy": {"type": "play", "prompt": "nobody", "next": "bye"},
        "after_hours": {"type": "play", "prompt": "closed", "next": "bye"},
        "bye": {"type": "hangup"},
    },
}


def classic_document() -> dict:
    document = configuration.default_document()
    document["flow"] = CLASSIC_FLOW
    document.pop("queue")
    return document


def board(document: dict | None = None, schedule: Schedule | None = None) -> tuple[Switchboard, FakeClock]:
    cfg = configuration.parse(document or classic_document(), simulated=True)
    clock = FakeClock()
    ids = (f"call-{n}" for n in itertools.count(1))
    sb = make_switchboard(cfg, clock, new_id=lambda: next(ids))
    if schedule is not None:
        sb.reconfigure(sb.flow, schedule)
    sb.handle(ev.LineUp(LINE))
    return sb, clock


def to_menu(sb: Switchboard, clock: FakeClock, caller: str | None = "+79161234567",
            call_id: str | None = "call-1") -> None:
    actions = sb.handle(ev.IncomingCall(LINE, caller))
    if call_id:  # the line answered already: the core only writes the record
        assert actions == [ev.CallStarted(call_id, LINE, caller, clock())]
    clock.advance(0.5)
    assert sb.handle(ev.CallAnswered(LINE)) == [ev.Play(LINE, "greeting")]
    clock.advance(3)
    assert sb.handle(ev.PromptFinished(LINE, "greeting")) == [ev.Play(LINE, "main_menu")]


def ended(actions: list) -> dict:
    records = [a.record.as_dict() for a in actions if isinstance(a, ev.CallEnded)]
    assert len(records) == 1, actions
    return records[0]


def test_caller_reaches_legal_operator_and_the_record_tells_the_story():
    sb, clock = board()
    to_menu(sb, clock)
    clock.advance(2)
    assert sb.handle(ev.DtmfReceived(LINE, "1")) == [
        ev.StopAudio(LINE), ev.Play(LINE, RINGBACK, loop=True), ev.RingHandset("h1"),
    ]
    clock.advance(4)
    assert sb.handle(ev.HookOff("h1")) == [ev.StopRinging("h1"), ev.StopAudio(LINE), ev.ConnectAudio("h1", LINE),
                                           ev.CallConnected("call-1", "h1", "Anna", clock())]
    assert sb.status()["handsets"][0]["state"] == "on call"
    clock.advance(60)
    actions = sb.handle(ev.RemoteHangup(LINE))
    assert actions[:2] == [ev.StopAudio(LINE), ev.DisconnectAudio("h1")]
    record = ended(actions)
    assert record["caller"] == "+79161234567"
    assert record["menu_path"] == "1"
    assert record["handset"] == "h1" and record["operator"] == "Anna"
    assert record["wait_seconds"] == 4 and record["talk_seconds"] == 60
    assert record["outcome"] == "completed" and record["ended_by"] == "caller"
    assert record["answered_at"] - record["started_at"] == 0.5
    assert sb.status()["calls"] == [] and sb.status()["handsets"][0]["state"] == "off-hook"


def test_key_pressed_over_the_greeting_is_kept_for_the_menu():
    sb, clock = board()
    sb.handle(ev.IncomingCall(LINE, None))
    sb.handle(ev.CallAnswered(LINE))
    actions = sb.handle(ev.DtmfReceived(LINE, "2"))
    assert actions[0] == ev.StopAudio(LINE)
    assert ev.RingHandset("h2") in actions and ev.RingHandset("h1") not in actions


def test_menu_timeout_retries_then_goes_to_anyone():
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.PromptFinished(LINE, "main_menu"))
    clock.advance(6)
    assert sb.handle(ev.Tick()) == [ev.Play(LINE, "main_menu")]
    sb.handle(ev.PromptFinished(LINE, "main_menu"))
    clock.advance(6)
    assert sb.handle(ev.Tick()) == [ev.Play(LINE, "main_menu")]
    sb.handle(ev.PromptFinished(LINE, "main_menu"))
    assert sb.next_deadline() == clock() + 6
    clock.advance(6)
    actions = sb.handle(ev.Tick())
    assert {ev.RingHandset("h1"), ev.RingHandset("h2")} <= set(actions)


def test_wrong_key_plays_invalid_prompt_then_the_menu_again():
    sb, clock = board()
    to_menu(sb, clock)
    assert sb.handle(ev.DtmfReceived(LINE, "7")) == [ev.StopAudio(LINE), ev.Play(LINE, "invalid")]
    assert sb.handle(ev.PromptFinished(LINE, "invalid")) == [ev.Play(LINE, "main_menu")]


def test_nobody_lifts_operator_is_retried_then_the_caller_overflows_and_the_operator_pauses():
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    clock.advance(20)  # Anna's ring timeout
    assert sb.handle(ev.Tick()) == [ev.StopRinging("h1")]
    assert sb.next_deadline() == clock() + 5  # her retry pause
    clock.advance(5)
    assert sb.handle(ev.Tick()) == [ev.RingHandset("h1")]
    clock.advance(20)
    assert sb.handle(ev.Tick()) == [ev.StopRinging("h1")]
    clock.advance(15)  # 60 s in the queue: the flow's overflow path
    actions = sb.handle(ev.Tick())
    assert actions == [ev.StopAudio(LINE), ev.Play(LINE, "nobody")]
    record = ended(sb.handle(ev.PromptFinished(LINE, "nobody")))
    assert record["outcome"] == "no answer" and record["wait_seconds"] == 60 and record["talk_seconds"] is None
    timeline = [e["event"] for e in record["events"]]
    assert timeline == ["ANSWERED", "KEY", "ENTERQUEUE", "RINGNOANSWER", "RINGNOANSWER", "EXITWITHTIMEOUT"]
    assert {o["name"]: o["state"] for o in sb.status()["operators"]}["Anna"] == "available"


def test_three_missed_rings_in_a_row_pause_the_operator():
    sb, clock = board()
    for _ in range(3):
        to_menu(sb, clock, call_id=None)
        sb.handle(ev.DtmfReceived(LINE, "1"))
        clock.advance(20)
        sb.handle(ev.Tick())
        sb.handle(ev.RemoteHangup(LINE))
        clock.advance(10)
    anna = {o["name"]: o for o in sb.status()["operators"]}["Anna"]
    assert anna["state"] == "paused" and "3 calls" in anna["pause_reason"]
    to_menu(sb, clock, call_id=None)
    assert ev.RingHandset("h1") not in sb.handle(ev.DtmfReceived(LINE, "1"))


def test_an_off_hook_handset_is_never_rung():
    sb, clock = board()
    sb.handle(ev.HookOff("h1"))
    to_menu(sb, clock)
    actions = sb.handle(ev.DtmfReceived(LINE, "0"))
    assert ev.RingHandset("h2") in actions and ev.RingHandset("h1") not in actions


def test_two_lifts_at_once_connect_exactly_one_and_leave_no_ringing():
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "0"))
    first = sb.handle(ev.HookOff("h2"))
    second = sb.handle(ev.HookOff("h1"))
    assert ev.ConnectAudio("h2", LINE) in first
    assert set(first) >= {ev.StopRinging("h1"), ev.StopRinging("h2")}
    assert second == []
    states = {h["id"]: h["state"] for h in sb.status()["handsets"]}
    assert states == {"h1": "off-hook", "h2": "on call"}


def test_lift_racing_the_callers_hang_up_never_connects_audio():
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    actions = sb.handle(ev.RemoteHangup(LINE))
    assert ev.StopRinging("h1") in actions
    assert ended(actions)["outcome"] == "abandoned"
    assert sb.handle(ev.HookOff("h1")) == []


def test_operator_hanging_up_ends_the_call():
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    sb.handle(ev.HookOff("h1"))
    clock.advance(10)
    actions = sb.handle(ev.HookOn("h1"))
    assert actions[0] == ev.HangUp(LINE) and ev.DisconnectAudio("h1") in actions
    record = ended(actions)
    assert record["ended_by"] == "operator" and record["talk_seconds"] == 10


def test_closed_hours_play_the_closed_message():
    sb, clock = board(schedule=Schedule(always_open=False))
    sb.handle(ev.IncomingCall(LINE, "+100"))
    assert sb.handle(ev.CallAnswered(LINE)) == [ev.Play(LINE, "greeting")]
    assert sb.handle(ev.PromptFinished(LINE, "greeting")) == [ev.Play(LINE, "closed")]
    record = ended(sb.handle(ev.PromptFinished(LINE, "closed")))
    assert record["outcome"] == "closed"


def test_withheld_number_is_an_anonymous_caller_and_late_caller_id_fills_in():
    sb, clock = board()
    sb.handle(ev.IncomingCall(LINE, None))
    assert sb.handle(ev.CallerId(LINE, "+7900")) == [ev.CallerKnown("call-1", "+7900")]
    assert sb.status()["calls"][0]["caller"] == "+7900"
    record = ended(sb.handle(ev.RemoteHangup(LINE)))
    assert record["outcome"] == "missed"  # hung up while it still rang


def test_line_lost_mid_call_closes_the_record_with_the_reason():
    sb, clock = board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    actions = sb.handle(ev.LineDown(LINE, "modem stopped answering"))
    assert ev.StopRinging("h1") in actions
    record = ended(actions)
    assert record["outcome"] == "failed" and record["reason"] == "modem stopped answering"
    assert sb.status()["lines"][0] == {"id": LINE, "state": "down", "reason": "modem stopped answering",
                                       "call": None, "remote_refused": None, "lent_to": None}


def test_a_new_call_from_the_line_closes_the_one_the_core_still_held():
    sb, clock = board()
    sb.handle(ev.IncomingCall(LINE, "+1"))
    actions = sb.handle(ev.IncomingCall(LINE, "+2", "line-made-id", waited=1.5))
    record = ended(actions)
    assert (record["id"], record["ended_by"], record["reason"]) == ("call-1", "line", "the line took a new call")
    assert actions[-1] == ev.CallStarted("line-made-id", LINE, "+2", clock() - 1.5)  # begun at its RING


def test_a_refused_answer_is_in_the_calls_timeline():
    sb, clock = board()
    sb.handle(ev.IncomingCall(LINE, "+1"))
    sb.handle(ev.AnswerRetry(LINE, 1, "the modem refused to answer: ERROR"))
    record = ended(sb.handle(ev.AnswerFailed(LINE, "the modem refused to answer: ERROR (3 times)")))
    assert [(e["event"], e["detail"]) for e in record["events"]][:1] == [
        ("ANSWER_REFUSED", "attempt 1: the modem refused to answer: ERROR")]


@pytest.mark.parametrize("event", [ev.DtmfReceived(LINE, "1"), ev.PromptFinished(LINE, "greeting"),
                                   ev.RemoteHangup(LINE), ev.HookOff("nope"), ev.HookOn("h1"), ev.Tick()])
def test_stray_events_on_an_idle_line_change_nothing(event):
    sb, _ = board()
    before = sb.status()
    assert sb.handle(event) == []
    assert sb.status() == before


def test_the_shipped_flow_asks_the_language_then_speaks_russian_and_ends_in_voicemail_after_hours():
    cfg = configuration.parse(configuration.default_document(), simulated=True)
    clock = FakeClock()
    sb = make_switchboard(cfg, clock)
    sb.reconfigure(sb.flow, Schedule(always_open=False))
    sb.handle(ev.LineUp(LINE))
    sb.handle(ev.IncomingCall(LINE, "+79161234567"))
    assert sb.handle(ev.CallAnswered(LINE)) == [ev.Play(LINE, "choose_language")]
    assert sb.handle(ev.PromptFinished(LINE, "choose_language")) == [ev.Play(LINE, "choose_language_ru")]
    assert sb.handle(ev.DtmfReceived(LINE, "2")) == [ev.StopAudio(LINE), ev.Play(LINE, "greeting_ru")]
    assert sb.handle(ev.PromptFinished(LINE, "greeting_ru")) == [ev.Play(LINE, "closed_ru")]
    assert sb.handle(ev.PromptFinished(LINE, "closed_ru")) == [ev.Play(LINE, "tone:beep")]
    actions = sb.handle(ev.PromptFinished(LINE, "tone:beep"))
    assert isinstance(actions[0], ev.StartRecording)


def test_status_says_since_when_each_operator_is_in_their_state():
    sb, clock = board()
    start = clock()
    to_menu(sb, clock)
    clock.advance(5)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    anna = {o["name"]: o for o in sb.status()["operators"]}["Anna"]
    assert anna["state"] == "ringing" and anna["since"] == start + 8.5  # rung when the key came
    boris = {o["name"]: o for o in sb.status()["operators"]}["Boris"]
    assert boris["state"] == "available" and boris["since"] == start
