"""The speak node in the core, with a fake clock: ask, listen, route by the intent heard, or fall back to keys."""

from __future__ import annotations

import pytest

from appliance import config as configuration
from appliance.core import events as ev
from tests.unit.test_switchboard import CLASSIC_FLOW, LINE, board, classic_document

INTENTS = {"legal": {"en": ["legal advice", "a lawyer"]}, "psychology": {"en": ["someone to talk to"]}}


def speak_document(**node) -> dict:
    document = classic_document()
    flow = {**CLASSIC_FLOW, "nodes": dict(CLASSIC_FLOW["nodes"])}
    flow["nodes"]["hours"] = {"type": "schedule", "open": "ask", "closed": "after_hours"}
    flow["nodes"]["ask"] = {"type": "speak", "prompt": "main_menu", "fallback_prompt": "invalid", "timeout": 6,
                            "keys": {"1": "legal", "2": "psychology"}, "on_timeout": "anyone",
                            "intents": INTENTS, **node}
    document["flow"] = flow
    return document


def asked(speech_on: bool = True, **node):
    sb, clock = board(speak_document(**node))
    sb.plan.speech = speech_on
    sb.handle(ev.IncomingCall(LINE, "+79161234567"))
    sb.handle(ev.CallAnswered(LINE))
    assert sb.handle(ev.PromptFinished(LINE, "greeting")) == [ev.Play(LINE, "main_menu")]
    return sb, clock


def listened(sb) -> ev.Recognise:
    assert sb.handle(ev.PromptFinished(LINE, "main_menu")) == [
        ev.StartRecording(LINE, "speech/call-1.flac", 6.0, 2.0, 0.3, stop_on_key=False)]
    [recognise] = sb.handle(ev.RecordingFinished(LINE, "/data/speech/call-1.flac", 1.4, "silence"))
    return recognise


def node_of(sb) -> str:
    return sb.status()["calls"][0]["node"]


def test_the_intent_heard_routes_the_caller_and_the_timeline_says_so() -> None:
    sb, clock = asked()
    recognise = listened(sb)
    assert recognise == ev.Recognise(LINE, "call-1", "/data/speech/call-1.flac", "en",
                                     (("legal", ("legal advice", "a lawyer")), ("psychology", ("someone to talk to",))))
    actions = sb.handle(ev.SpeechHeard(LINE, "call-1", "legal", 0.8))
    assert ev.RingHandset("h1") in actions and node_of(sb) == "legal"
    record = sb.handle(ev.RemoteHangup(LINE))[-1].record.as_dict()
    assert any(e["event"] == "SPEECH" and e["detail"] == "legal (0.80)" for e in record["events"])


def test_an_unsure_answer_falls_back_to_the_key_menu() -> None:
    sb, _ = asked(threshold=0.7)
    listened(sb)
    assert sb.handle(ev.SpeechHeard(LINE, "call-1", "legal", 0.6)) == [ev.Play(LINE, "invalid")]
    assert sb.handle(ev.PromptFinished(LINE, "invalid")) == []  # silence: a key is awaited
    assert ev.RingHandset("h2") in sb.handle(ev.DtmfReceived(LINE, "2"))


def test_a_key_over_the_question_or_while_listening_is_the_menus() -> None:
    sb, _ = asked()
    assert ev.RingHandset("h1") in sb.handle(ev.DtmfReceived(LINE, "1"))[:3] and node_of(sb) == "legal"
    sb, _ = asked()
    sb.handle(ev.PromptFinished(LINE, "main_menu"))
    actions = sb.handle(ev.DtmfReceived(LINE, "2"))
    assert actions[:2] == [ev.StopAudio(LINE), ev.StopRecording(LINE)] and node_of(sb) == "psychology"
    # the cut-short answer is only deleted, and a late answer from the recogniser changes nothing
    assert sb.handle(ev.RecordingFinished(LINE, "/data/speech/call-1.flac", 0.5, "stopped")) == [
        ev.Recognise(LINE, "call-1", "/data/speech/call-1.flac", "", ())]
    assert sb.handle(ev.SpeechHeard(LINE, "call-1", "legal", 0.9)) == [] and node_of(sb) == "psychology"


@pytest.mark.parametrize("silent", ["nothing said", "speech off", "recogniser gone"])
def test_the_caller_is_never_stuck(silent: str) -> None:
    sb, clock = asked(speech_on=silent != "speech off")
    if silent == "speech off":
        assert sb.handle(ev.PromptFinished(LINE, "main_menu")) == [ev.Play(LINE, "invalid")]
    elif silent == "nothing said":
        sb.handle(ev.PromptFinished(LINE, "main_menu"))
        assert sb.handle(ev.RecordingFinished(LINE, None, 2.0, "too short")) == [ev.Play(LINE, "invalid")]
    else:
        listened(sb)
        clock.advance(6)
        assert sb.handle(ev.Tick()) == [ev.Play(LINE, "invalid")]
    sb.handle(ev.PromptFinished(LINE, "invalid"))
    clock.advance(6 * 3)
    for _ in range(3):  # the menu's retries, then its on_timeout
        clock.advance(6)
        actions = sb.handle(ev.Tick())
        if actions and actions[0] == ev.Play(LINE, "invalid"):
            sb.handle(ev.PromptFinished(LINE, "invalid"))
    assert node_of(sb) == "anyone"


def test_bad_intents_are_refused_naming_the_field() -> None:
    for intents, field, words in [
        ({"nowhere": {"en": ["x"]}}, "flow.nodes.ask.intents.nowhere", "missing node"),
        ({"legal": {"de": ["x"]}}, "flow.nodes.ask.intents.legal.de", "not one of"),
        ({"legal": {"en": []}}, "flow.nodes.ask.intents.legal.en", "list of phrases"),
        ({"legal": {"en": ["ok", 3]}}, "flow.nodes.ask.intents.legal.en", "list of phrases"),
    ]:
        with pytest.raises(configuration.ConfigError) as error:
            configuration.parse(speak_document(intents=intents), simulated=True)
        assert any(p.field == field and words in p.message for p in error.value.problems), error.value.problems
    with pytest.raises(configuration.ConfigError, match="threshold"):
        configuration.parse(speak_document(threshold=2), simulated=True)
