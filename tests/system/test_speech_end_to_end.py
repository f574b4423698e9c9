"""A caller says what they need and is routed by it: the real daemon, its speech worker (pocketsphinx), the
simulated line's microphone carrying espeak-ng's words through a GSM codec; unsure, the caller uses the keys."""

from __future__ import annotations

import os
import sqlite3
import sys
from importlib.util import find_spec

import pytest
from markupsafe import escape

from appliance import config as configuration
from appliance.service import control
from tests.support.boxes import simulated_box
from tests.support.smtp_relay import relay_fixture, smtp_settings  # noqa: F401 (the `relay` fixture)
from tests.support.speech import phone_speech
from tests.support.status import loop_status
from tests.support.waiting import wait_until
from tests.support.web import login, set_up
from web import create_app

DUTY = "duty@example.org"
# Found, not imported: this test process is the daemon's, which must never load an engine itself.
pytestmark = pytest.mark.skipif(find_spec("pocketsphinx") is None, reason="pocketsphinx is not installed")

# The node's timeout is also how long the recogniser's answer is awaited before the caller gets the keys: the
# recogniser (pocketsphinx, in a process of its own) takes 0.25 CPU-s per second of speech, several seconds of
# wall time on a machine loaded as CI's is. No test here waits for that timeout; each waits for what was heard.
FLOW = {
    "start": "ask",
    "nodes": {
        "ask": {"type": "speak", "prompt": "main_menu", "fallback_prompt": "invalid", "timeout": 20,
                "keys": {"1": "legal", "2": "health"}, "on_timeout": "bye",
                "intents": {"legal": {"en": ["legal advice", "a lawyer"]},
                            "health": {"en": ["a doctor", "medical help"]},
                            "message": {"en": ["leave a message", "record a message"]}}},
        "message": {"type": "voicemail", "silence_seconds": 2, "min_seconds": 1, "next": "bye"},
        "legal": {"type": "route", "skill": "legal", "max_wait": 30, "next": "bye"},
        "health": {"type": "route", "skill": "psychology", "max_wait": 30, "next": "bye"},
        "bye": {"type": "hangup"},
    },
}


def speak_document() -> dict:
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    document["flow"] = FLOW
    document["speech"] = {"transcripts": True}
    document["queue"] = {"strategy": "ringall"}
    document["operators"] = [{"name": "Anna", "skills": {"legal": 3}, "wrap_up": 0, "retry_pause": 0},
                             {"name": "Boris", "skills": {"psychology": 3}, "wrap_up": 0, "retry_pause": 0}]
    return document


@pytest.fixture(scope="module")
def box(tmp_path_factory, relay):
    data = tmp_path_factory.mktemp("speech")
    document = speak_document()
    document["smtp"] = smtp_settings(relay, data)
    document["alerts"] = [{"event": "voicemail", "recipients": [DUTY], "channel": "email"}]
    with simulated_box(data, document) as (daemon, simulation):
        yield daemon, simulation, data


def rings(daemon, handset: str) -> bool:
    return any(h["id"] == handset and h["state"] == "ringing" for h in loop_status(daemon)["handsets"])


def answer_by_voice(box, words: str) -> str:
    """Ring, wait for the question to end and the box to listen, say `words`; the call's id."""
    daemon, simulation, _ = box
    emulator = simulation.emulators["gsm1"]
    # Made before the box listens: espeak-ng and two sox runs took longer than the 2 s pause that ends the
    # answer on a loaded machine, so the box heard nothing and rightly fell back to the keys.
    speech = phone_speech(words)
    wait_until(lambda: not loop_status(daemon)["calls"], what="the line to be free")
    emulator.incoming_call("+79161234567")
    call_id = wait_until(lambda: loop_status(daemon)["calls"], what="the call")[0]["id"]
    wait_until(lambda: daemon.recorders["gsm1"].recording, what="the box to listen for the answer")
    simulation.microphones["gsm1"].say(speech)
    return call_id


def timeline(data, call_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(data / "calls.db") as conn:
        return conn.execute("SELECT event, detail FROM call_events WHERE call_id = ?", (call_id,)).fetchall()


def hang_up(box) -> None:
    """Hang up and wait for the call to end: the loop's status drops it once its record is written."""
    daemon, simulation, _ = box
    simulation.emulators["gsm1"].remote_hangup()
    wait_until(lambda: not loop_status(daemon)["calls"], what="the call to end")


def test_a_caller_who_says_what_they_need_is_routed_by_it(box) -> None:
    daemon, _, data = box
    call_id = answer_by_voice(box, "I need a lawyer please")
    wait_until(lambda: rings(daemon, "h1"), 40, "Anna's handset (legal) to ring")
    assert not rings(daemon, "h2")
    status = loop_status(daemon)
    assert status["speech"]["on"] and status["speech"]["worker_pid"]
    hang_up(box)
    assert [detail.split()[0] for event, detail in timeline(data, call_id) if event == "SPEECH"] == ["legal"]
    assert not list((data / "speech").glob("*.flac")), "the spoken answer is deleted once heard"


def test_an_unsure_answer_falls_back_to_the_keys(box) -> None:
    daemon, simulation, _ = box
    answer_by_voice(box, "what is the weather like today")
    wait_until(lambda: loop_status(daemon)["calls"][0]["prompt"] == "invalid", 40, "the key menu (fallback prompt)")
    simulation.emulators["gsm1"].send_dtmf("2")
    wait_until(lambda: rings(daemon, "h2"), what="Boris's handset (key 2) to ring")
    hang_up(box)


def test_the_speech_engine_is_a_process_of_its_own_and_absent_without_a_speak_node(box, tmp_path) -> None:
    daemon, _, _ = box
    pid = loop_status(daemon)["speech"]["worker_pid"]
    rss_kb = int(next(line.split()[1] for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS:")))
    assert rss_kb < 150 * 1024  # docs/speech.md: ~45 MB for pocketsphinx's grammar search
    assert "pocketsphinx" not in sys.modules and os.getpid() != pid  # never loaded in the daemon itself
    plain_document = speak_document()
    plain_document["flow"] = {"start": "bye", "nodes": {"bye": {"type": "hangup"}}}
    with simulated_box(tmp_path / "plain", plain_document) as (plain, _):
        assert loop_status(plain)["speech"]["worker_pid"] is None


@pytest.mark.slow  # the worker loads its language model (~1 s here, more under load) and transcribes
def test_a_voicemail_gets_its_transcript_shown_searchable_mailed_and_erased_with_the_caller(box, relay) -> None:
    daemon, simulation, data = box
    message = phone_speech("My landlord wants me out by Friday.")  # made before the message's 2 s of silence run
    call_id = answer_by_voice(box, "I want to leave a message")
    wait_until(lambda: daemon.recorders["gsm1"].recording and loop_status(daemon)["calls"][0]["node"] == "message",
               40, "the voicemail to record")
    simulation.microphones["gsm1"].say(message)

    def transcript():
        with sqlite3.connect(data / "calls.db") as conn:
            found = conn.execute("SELECT transcript FROM voicemails WHERE call_id = ?", (call_id,)).fetchall()
        return found and found[0][0]

    text = wait_until(transcript, 60, "the voicemail's transcript")
    hang_up(box)
    mail = wait_until(lambda: [r.message for r in relay.received if r.recipients == [DUTY]], 20,
                      "the voicemail's alert")[0]  # it waited for the transcript, which came well within its wait
    assert text in mail.get_body().get_content()
    app = create_app(data, control_path=daemon.control_path)
    client = app.test_client()
    set_up(client, data)
    login(client)
    word, shown = max(text.split(), key=len), str(escape(text))  # "won't" is "won&#39;t" on the page
    assert shown in client.get("/voicemail").get_data(as_text=True)
    assert shown in client.get(f"/voicemail?q={word}").get_data(as_text=True)
    assert "No voicemail with these words." in client.get("/voicemail?q=zebra").get_data(as_text=True)
    assert control.call(daemon.control_path, "caller.erase", caller="+79161234567", actor="admin")["ok"]
    assert not transcript(), "the transcript goes with the caller's erasure"
