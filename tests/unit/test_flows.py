"""Every kind of flow node, with a fake clock: what the caller hears and what the record keeps."""

from __future__ import annotations

import copy
import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from appliance import config as configuration
from appliance.core import events as ev
from appliance.core.clock import FakeClock
from appliance.core.flow import NODE_TYPES
from appliance.core.nodes import KINDS, NodeKind
from appliance.service.switchboard_setup import make_switchboard

LINE = "gsm1"
CALLER = "+79161234567"
PROMPTS = ("hello", "menu", "ask", "thanks", "beep_intro", "question", "bye", "lang", "hello_ru", "blocked",
           "survey_thanks", "transferring", "cb_ok", "closed")


def document(nodes: dict, start: str, **extra) -> dict:
    doc = copy.deepcopy(configuration.default_document())
    doc["prompts"] = {name: {"text": name, "lang": "en"} for name in PROMPTS}
    doc["flow"] = {"start": start, "nodes": nodes}
    doc.update(extra)
    return doc


def board(doc: dict, clock: FakeClock | None = None):
    cfg = configuration.parse(doc, simulated=True)
    clock = clock or FakeClock()
    ids = (f"call-{n}" for n in itertools.count(1))
    sb = make_switchboard(cfg, clock, new_id=lambda: next(ids))
    sb.handle(ev.LineUp(LINE))
    return sb, clock


def answer(sb, caller: str | None = CALLER) -> list:
    sb.handle(ev.IncomingCall(LINE, caller))
    return sb.handle(ev.CallAnswered(LINE))


def ended(actions: list) -> dict:
    records = [a.record.as_dict() for a in actions if isinstance(a, ev.CallEnded)]
    assert len(records) == 1, actions
    return records[0]


def events_of(record: dict) -> list[str]:
    return [e["event"] for e in record["events"]]


BYE = {"type": "hangup"}


def test_collect_digits_until_the_terminator_then_branch_on_them():
    nodes = {
        "ask": {"type": "collect", "prompt": "ask", "var": "case", "terminator": "#", "timeout": 5, "next": "check"},
        "check": {"type": "branch", "on": "collected", "var": "case", "value": "42", "match": "yes",
                  "otherwise": "bye"},
        "yes": {"type": "play", "prompt": "thanks", "next": "bye"},
        "bye": BYE,
    }
    sb, clock = board(document(nodes, "ask"))
    assert answer(sb) == [ev.Play(LINE, "ask")]
    assert sb.handle(ev.DtmfReceived(LINE, "4")) == [ev.StopAudio(LINE)]
    assert sb.handle(ev.DtmfReceived(LINE, "2")) == []
    assert sb.handle(ev.DtmfReceived(LINE, "#")) == [ev.Play(LINE, "thanks")]
    record = ended(sb.handle(ev.PromptFinished(LINE, "thanks")))
    assert "COLLECT" in events_of(record) and record["events"][1]["detail"] == "case=42"


def test_collect_a_fixed_length_and_an_inter_digit_timeout():
    nodes = {
        "ask": {"type": "collect", "prompt": "ask", "length": 3, "timeout": 4, "next": "bye",
                "on_timeout": "bye"},
        "bye": {"type": "hangup", "prompt": "bye"},
    }
    sb, clock = board(document(nodes, "ask"))
    answer(sb)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    sb.handle(ev.DtmfReceived(LINE, "2"))
    assert sb.handle(ev.DtmfReceived(LINE, "3")) == [ev.Play(LINE, "bye")]
    sb.handle(ev.PromptFinished(LINE, "bye"))
    # Second caller keys one digit then stops: what they typed is taken after the timeout.
    answer(sb)
    sb.handle(ev.PromptFinished(LINE, "ask"))
    sb.handle(ev.DtmfReceived(LINE, "9"))
    clock.advance(4)
    assert sb.handle(ev.Tick()) == [ev.Play(LINE, "bye")]


def test_language_choice_switches_every_later_prompt_to_that_language():
    nodes = {
        "lang": {"type": "language", "prompt": "lang", "keys": {"1": "en", "2": "ru"}, "timeout": 5,
                 "next": "hello"},
        "hello": {"type": "play", "prompt": "hello", "next": "bye"},
        "bye": BYE,
    }
    sb, clock = board(document(nodes, "lang"))
    answer(sb)
    assert sb.handle(ev.DtmfReceived(LINE, "2")) == [ev.StopAudio(LINE), ev.Play(LINE, "hello_ru")]
    record = ended(sb.handle(ev.PromptFinished(LINE, "hello_ru")))
    assert record["language"] == "ru"
    answer(sb)  # nobody presses anything: the box's own language
    clock.advance(5)
    sb.handle(ev.PromptFinished(LINE, "lang"))
    clock.advance(5)
    assert sb.handle(ev.Tick()) == [ev.Play(LINE, "hello")]


def test_branch_on_a_caller_list_and_on_holidays():
    nodes = {
        "vip": {"type": "branch", "on": "caller_list", "list": "board", "match": "hello", "otherwise": "hol"},
        "hol": {"type": "branch", "on": "holiday", "match": "closed", "otherwise": "bye"},
        "hello": {"type": "play", "prompt": "hello", "next": "bye"},
        "closed": {"type": "play", "prompt": "closed", "next": "bye"},
        "bye": BYE,
    }
    doc = document(nodes, "vip", callers={"lists": {"board": ["+70000000001"]}})
    doc["schedule"] = {"timezone": "Europe/Moscow", "always_open": True, "holidays": ["01-01", "2026-05-11"]}
    new_year = datetime(2027, 1, 1, 12, tzinfo=ZoneInfo("Europe/Moscow")).timestamp()
    sb, clock = board(doc, FakeClock(new_year))
    assert answer(sb, "+70000000001") == [ev.Play(LINE, "hello")]
    sb.handle(ev.RemoteHangup(LINE))
    record = ended(answer(sb, "+70000000002") + sb.handle(ev.PromptFinished(LINE, "closed")))
    assert record["outcome"] == "closed"
    clock.advance(86400)  # 2 January: an ordinary day
    assert ended(answer(sb, "+70000000002"))["outcome"] == "ended by flow"


def test_schedule_with_shifts_holidays_and_a_moved_working_day():
    from appliance.core.schedule import parse_schedule

    schedule, problems = parse_schedule({
        "timezone": "Europe/Moscow", "hours": {"mon": ["09:00-13:00", "14:00-18:00"]},
        "holidays": ["2026-11-30"], "special_days": {"2026-11-28": ["10:00-12:00"]},
    })
    assert problems == []
    at = lambda *a: datetime(*a, tzinfo=ZoneInfo("Europe/Moscow")).timestamp()  # noqa: E731
    assert schedule.is_open(at(2026, 11, 23, 9, 30)) and not schedule.is_open(at(2026, 11, 23, 13, 30))
    assert not schedule.is_open(at(2026, 11, 30, 10, 0))  # a Monday holiday
    assert schedule.is_open(at(2026, 11, 28, 11, 0))  # a Saturday worked instead
    assert not schedule.is_open(at(2026, 11, 24, 10, 0))  # Tuesday: no hours set


def test_voicemail_beeps_records_and_keeps_the_message_even_after_the_caller_hangs_up():
    nodes = {
        "vm": {"type": "voicemail", "prompt": "beep_intro", "max_seconds": 60, "silence_seconds": 4,
               "min_seconds": 1, "next": "thanks"},
        "thanks": {"type": "play", "prompt": "thanks", "next": "bye"},
        "bye": BYE,
    }
    sb, clock = board(document(nodes, "vm"))
    assert answer(sb) == [ev.Play(LINE, "beep_intro")]
    assert sb.handle(ev.PromptFinished(LINE, "beep_intro")) == [ev.Play(LINE, "tone:beep")]
    assert sb.handle(ev.PromptFinished(LINE, "tone:beep")) == [
        ev.StartRecording(LINE, "voicemail/call-1.flac", 60, 4, 1)]
    # Caller finishes with '#': the recorder reports, the flow goes on.
    actions = sb.handle(ev.RecordingFinished(LINE, "voicemail/call-1.flac", 7.5, "key"))
    assert actions == [ev.SaveVoicemail("call-1", "voicemail/call-1.flac", 7.5, CALLER), ev.Play(LINE, "thanks")]
    record = ended(sb.handle(ev.PromptFinished(LINE, "thanks")))
    assert record["outcome"] == "voicemail" and "VOICEMAIL" in events_of(record)
    # The next caller hangs up mid-message: the call ends, the message is still saved.
    answer(sb)
    sb.handle(ev.PromptFinished(LINE, "beep_intro"))
    sb.handle(ev.PromptFinished(LINE, "tone:beep"))
    actions = sb.handle(ev.RemoteHangup(LINE))
    assert ev.StopRecording(LINE) in actions and ended(actions)["outcome"] == "voicemail"
    assert sb.handle(ev.RecordingFinished(LINE, "voicemail/call-2.flac", 3.0, "stopped")) == [
        ev.SaveVoicemail("call-2", "voicemail/call-2.flac", 3.0, CALLER)]


def test_a_too_short_message_is_not_saved():
    nodes = {"vm": {"type": "voicemail", "next": "bye"}, "bye": BYE}
    sb, clock = board(document(nodes, "vm"))
    assert answer(sb) == [ev.Play(LINE, "tone:beep")]
    sb.handle(ev.PromptFinished(LINE, "tone:beep"))
    actions = sb.handle(ev.RecordingFinished(LINE, None, 0.4, "too short"))
    assert not any(isinstance(a, ev.SaveVoicemail) for a in actions)
    assert ended(actions)["outcome"] == "ended by flow"


def route_nodes(**route) -> dict:
    nodes = {
        "q": {"type": "route", "skill": "general", "max_wait": 60, "next": "vm", **route},
        "vm": {"type": "voicemail", "next": "bye"},
        "bye": BYE,
    }
    if "survey" in route:
        nodes["survey"] = {"type": "survey", "prompt": "question", "thanks_prompt": "survey_thanks", "timeout": 8,
                           "next": "bye"}
    return nodes


def test_survey_after_the_operator_hangs_up_stores_the_score():
    sb, clock = board(document(route_nodes(survey="survey"), "q"))
    answer(sb)
    sb.handle(ev.HookOff("h1"))
    clock.advance(30)
    actions = sb.handle(ev.HookOn("h1"))
    assert ev.DisconnectAudio("h1") in actions and actions[-1] == ev.Play(LINE, "question")
    assert not any(isinstance(a, ev.HangUp) for a in actions)
    sb.handle(ev.PromptFinished(LINE, "question"))
    assert sb.handle(ev.DtmfReceived(LINE, "5")) == [ev.StopAudio(LINE), ev.Play(LINE, "survey_thanks")]
    record = ended(sb.handle(ev.PromptFinished(LINE, "survey_thanks")))
    assert record["survey_score"] == 5 and record["outcome"] == "completed" and record["talk_seconds"] == 30
    assert events_of(record)[-2:] == ["COMPLETEAGENT", "SURVEY"]


def test_a_key_leaves_the_queue_for_voicemail():
    sb, clock = board(document(route_nodes(keys={"1": "vm"}), "q"))
    answer(sb)
    clock.advance(12)
    actions = sb.handle(ev.DtmfReceived(LINE, "1"))
    assert actions[:2] == [ev.StopRinging("h1"), ev.StopRinging("h2")]
    assert actions[-1] == ev.Play(LINE, "tone:beep")
    assert sb.status()["waiting"] == [] and {h["state"] for h in sb.status()["handsets"]} == {"idle"}


def test_callback_request_keeps_its_place_then_rings_the_operator_then_dials_the_caller():
    doc = document({"cb": {"type": "callback", "prompt": "cb_ok", "next": "bye"}, "bye": BYE}, "cb")
    sb, clock = board(doc)
    sb.handle(ev.HookOff("h1"))  # both receivers are off the hook: nobody can be rung yet
    sb.handle(ev.HookOff("h2"))
    actions = answer(sb)
    assert ev.SaveCallback("call-2", "call-1", CALLER, "waiting", 0) in actions
    assert actions[-1] == ev.Play(LINE, "cb_ok")
    ended(sb.handle(ev.PromptFinished(LINE, "cb_ok")))
    assert sb.status()["waiting"][0]["callback"] is True
    assert sb.handle(ev.HookOn("h1")) == [ev.RingHandset("h1")]  # free again: rung for the callback
    actions = sb.handle(ev.HookOff("h1"))
    assert actions[-3:-1] == [ev.ConnectAudio("h1", LINE), ev.Dial(LINE, CALLER)]
    actions = sb.handle(ev.DialFailed(LINE, "busy"))
    assert ev.DisconnectAudio("h1") in actions
    assert ev.SaveCallback("call-2", None, CALLER, "waiting", 1, "busy") in actions
    assert sb.status()["lines"][0]["call"] is None
    sb.handle(ev.HookOn("h1"))
    clock.advance(300 + 10)  # retry pause and wrap-up over
    assert ev.RingHandset("h1") in sb.handle(ev.Tick())
    sb.handle(ev.HookOff("h1"))
    assert sb.handle(ev.DialAnswered(LINE)) == [ev.SaveCallback("call-2", None, CALLER, "done", 2)]
    clock.advance(42)
    record = ended(sb.handle(ev.HookOn("h1")))
    assert record["direction"] == "callback" and record["talk_seconds"] == 42 and record["operator"] == "Anna"


def test_callbacks_give_up_after_the_limit():
    doc = document({"cb": {"type": "callback", "next": "bye"}, "bye": BYE}, "cb", callbacks={"max_attempts": 1})
    sb, clock = board(doc)
    ended(answer(sb))
    sb.handle(ev.HookOff("h1"))
    actions = sb.handle(ev.DialFailed(LINE, "no answer"))
    assert ev.SaveCallback("call-2", None, CALLER, "gave up", 1, "no answer") in actions
    assert sb.status()["waiting"] == []


def test_sms_node_texts_the_caller_and_transfer_hands_them_on():
    nodes = {
        "sms": {"type": "sms", "text": "Our address: 1 Main St", "next": "fwd"},
        "fwd": {"type": "transfer", "number": "+78001234567", "prompt": "transferring", "on_fail": "bye"},
        "bye": {"type": "hangup", "prompt": "bye"},
    }
    sb, clock = board(document(nodes, "sms"))
    actions = answer(sb)
    assert actions == [ev.SendSms(LINE, CALLER, "Our address: 1 Main St"), ev.Play(LINE, "transferring")]
    assert sb.handle(ev.PromptFinished(LINE, "transferring")) == [ev.StopAudio(LINE),
                                                                   ev.Transfer(LINE, "+78001234567")]
    record = ended(sb.handle(ev.TransferResult(LINE, "+78001234567", True)))
    assert record["outcome"] == "transferred" and events_of(record)[1:] == ["SMS", "TRANSFER"]
    answer(sb, None)  # withheld number: no SMS can be sent
    sb.handle(ev.PromptFinished(LINE, "transferring"))
    assert sb.handle(ev.TransferResult(LINE, "+78001234567", False, "network refused")) == [ev.Play(LINE, "bye")]


def test_blocked_caller_hears_the_message_and_is_cut_off_until_the_block_expires():
    doc = document({"hello": {"type": "play", "prompt": "hello", "next": "bye"}, "bye": BYE}, "hello",
                   callers={"blocked": [{"number": CALLER, "until": "2026-12-31"}], "priority": ["+70000000009"]})
    start = datetime(2026, 12, 1, tzinfo=ZoneInfo("Europe/Moscow")).timestamp()
    sb, clock = board(doc, FakeClock(start))
    assert answer(sb) == [ev.Play(LINE, "blocked")]
    record = ended(sb.handle(ev.PromptFinished(LINE, "blocked")))
    assert record["outcome"] == "blocked"
    clock.advance(31 * 86400)
    assert answer(sb) == [ev.Play(LINE, "hello")]


def test_emergency_announcement_follows_the_greeting():
    nodes = {"hello": {"type": "play", "prompt": "hello", "next": "menu"},
             "menu": {"type": "menu", "prompt": "menu", "keys": {"1": "bye"}}, "bye": BYE}
    sb, clock = board(document(nodes, "hello"))
    sb.announcement = "closed"
    answer(sb)
    assert sb.handle(ev.PromptFinished(LINE, "hello")) == [ev.Play(LINE, "closed")]
    assert sb.handle(ev.PromptFinished(LINE, "closed")) == [ev.Play(LINE, "menu")]


@pytest.mark.parametrize("nodes, start, field, message", [
    ({"a": {"type": "menu", "prompt": "menu", "keys": {"1": "b"}, "on_timeout": "b"},
      "b": {"type": "play", "prompt": "hello", "next": "a"}}, "a", "flow.nodes.a", "loop without an exit"),
    ({"a": {"type": "play", "prompt": "nope", "next": "b"}, "b": BYE}, "a", "flow.nodes.a.prompt", "missing prompt"),
    ({"a": {"type": "branch", "on": "moon", "match": "b", "otherwise": "b"}, "b": BYE}, "a", "flow.nodes.a.on",
     "not one of"),
    ({"a": {"type": "language", "prompt": "lang", "keys": {"1": "fr"}, "next": "b"}, "b": BYE}, "a",
     "flow.nodes.a.keys.1", "'fr' is not one of"),
])
def test_flow_errors_name_the_node(nodes, start, field, message):
    _, problems = configuration.check(document(nodes, start))
    assert any(p.field == field and message in p.message and p.severity == "error" for p in problems), problems


def test_deep_and_wide_menus_get_warnings():
    nodes = {f"m{i}": {"type": "menu", "prompt": "menu", "keys": {"1": f"m{i + 1}", "2": "bye"}} for i in range(4)}
    nodes["m4"] = {"type": "menu", "prompt": "menu", "keys": {str(k): "bye" for k in range(6)}}
    nodes["bye"] = BYE
    config, problems = configuration.check(document(nodes, "m0"))
    assert config is not None
    warnings = {p.field: p.message for p in problems if p.severity == "warning"}
    assert "levels deep" in warnings["flow.nodes.m4"] and "callers get lost past five" in warnings["flow.nodes.m4.keys"]


def test_recorded_calls_are_announced_first_and_kept_even_around_a_voicemail():
    nodes = {"vm": {"type": "voicemail", "next": "bye"}, "bye": BYE}
    doc = document(nodes, "vm", recording={"calls": True, "announcement": "hello"})
    sb, clock = board(doc)
    assert answer(sb) == [ev.Play(LINE, "hello")]  # told before anything is kept
    actions = sb.handle(ev.PromptFinished(LINE, "hello"))
    assert actions == [ev.StartRecording(LINE, "recordings/call-1.flac", 4 * 3600.0, float("inf"), 1.0,
                                         stop_on_key=False), ev.Play(LINE, "tone:beep")]
    sb.handle(ev.PromptFinished(LINE, "tone:beep"))  # the voicemail take replaces the call recording
    assert sb.handle(ev.RecordingFinished(LINE, "recordings/call-1.flac", 9.0, "stopped")) == [
        ev.SaveRecording("call-1", "recordings/call-1.flac", 9.0)]
    actions = sb.handle(ev.RecordingFinished(LINE, "voicemail/call-1.flac", 5.0, "key"))
    assert actions[0] == ev.SaveVoicemail("call-1", "voicemail/call-1.flac", 5.0, CALLER)


def test_recording_calls_without_an_announcement_is_refused():
    doc = document({"bye": BYE}, "bye", recording={"calls": True})
    _, problems = configuration.check(doc)
    assert any(p.field == "recording.announcement" for p in problems)


def test_an_operator_hands_the_caller_to_a_competent_service():
    sb, clock = board(document(route_nodes(), "q"))
    answer(sb)
    sb.handle(ev.HookOff("h1"))
    assert sb.transfer(LINE, "+78001002030") == [ev.StopAudio(LINE), ev.Transfer(LINE, "+78001002030")]
    actions = sb.handle(ev.TransferResult(LINE, "+78001002030", True))
    assert ev.DisconnectAudio("h1") in actions
    record = ended(actions)
    assert record["outcome"] == "transferred" and record["ended_by"] == "operator"
    with pytest.raises(LookupError):
        sb.transfer(LINE, "+78001002030")


def test_waiting_callers_hear_their_place_and_the_expected_wait_over_the_music():
    doc = document(route_nodes(), "q", queue={"announce_every": 30, "position_text": "Number {n}.",
                                              "wait_text": "About {m} minutes."})
    for spec in doc["handsets"]:
        spec.pop("operator")  # nobody on duty: the callers wait
    cfg = configuration.parse(doc, simulated=True)
    clock = FakeClock()
    prompts = {*cfg.prompts, "queue.position.1", "queue.position.2", "queue.wait.1", "queue.wait.2"}
    ids = (f"call-{n}" for n in itertools.count(1))
    sb = make_switchboard(cfg, clock, prompts=prompts, new_id=lambda: next(ids))
    sb.handle(ev.LineUp(LINE))
    assert answer(sb) == [ev.Play(LINE, "tone:ringback", loop=True)]
    clock.advance(30)
    assert sb.handle(ev.Tick()) == [ev.StopAudio(LINE), ev.Play(LINE, "queue.position.1")]
    # Nobody has been answered yet: a minute a caller, less the half minute already waited.
    assert sb.handle(ev.PromptFinished(LINE, "queue.position.1")) == [ev.Play(LINE, "queue.wait.1")]
    assert sb.handle(ev.PromptFinished(LINE, "queue.wait.1")) == [ev.Play(LINE, "tone:ringback", loop=True)]


def test_every_node_type_the_flow_accepts_has_a_handler_and_no_handler_is_unreachable():
    assert set(KINDS) == set(NODE_TYPES)


def test_a_new_node_kind_is_its_fields_and_one_handler(monkeypatch):
    """The way #22's speak node comes in: a kind that plays its prompt twice, known to the parser and the IVR."""

    class Twice(NodeKind):
        def enter(self, ivr, call, node):
            call.digits = ""  # counts the plays: no other kind uses it here
            return [ivr.say(call, node.prompt)]

        def prompt_done(self, ivr, call, node):
            call.digits += "x"
            return [ivr.say(call, node.prompt)] if len(call.digits) < 2 else ivr.enter(call, node.next)

    monkeypatch.setitem(NODE_TYPES, "twice", {"required": ("prompt", "next"), "targets": ("next",),
                                              "prompts": ("prompt",)})
    monkeypatch.setitem(KINDS, "twice", Twice())
    sb, _ = board(document({"a": {"type": "twice", "prompt": "hello", "next": "bye"}, "bye": BYE}, "a"))
    assert answer(sb) == [ev.Play(LINE, "hello")]
    assert sb.handle(ev.PromptFinished(LINE, "hello")) == [ev.Play(LINE, "hello")]
    record = ended(sb.handle(ev.PromptFinished(LINE, "hello")))
    assert record["outcome"] == "ended by flow"
