"""Each path a caller can take, once end to end: modem emulator on a pty, mock pins, real recorder and store."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from appliance import config as configuration
from tests.support.boxes import simulated_box
from tests.support.records import wait_for_record
from tests.support.status import loop_command, loop_status
from tests.support.waiting import wait_until

HOOK = {"h1": 27, "h2": 6}
RING = {"h1": 17, "h2": 5}
BLOCKED = "+79990000000"

FLOW = {
    "start": "lang",
    "nodes": {
        "lang": {"type": "language", "prompt": "choose_language_ru", "keys": {"1": "en", "2": "ru"}, "timeout": 2,
                 "next": "welcome"},
        "welcome": {"type": "play", "prompt": "greeting", "next": "hours"},
        "hours": {"type": "schedule", "open": "menu", "closed": "after_hours"},
        "menu": {"type": "menu", "prompt": "main_menu", "timeout": 5, "on_timeout": "bye",
                 "keys": {"1": "legal", "3": "message", "4": "cb", "5": "info", "6": "case"}},
        "legal": {"type": "route", "skill": "legal", "max_wait": 3, "keys": {"1": "message"}, "survey": "survey",
                  "next": "message"},
        "message": {"type": "voicemail", "prompt": "record_message", "silence_seconds": 4, "min_seconds": 1,
                    "next": "thanks"},
        "after_hours": {"type": "voicemail", "prompt": "closed", "next": "thanks"},
        "cb": {"type": "callback", "prompt": "thanks", "next": "bye"},
        "info": {"type": "sms", "text": "Helpline: open 9 to 18.", "next": "fwd"},
        "fwd": {"type": "transfer", "number": "+78005550000", "on_fail": "bye"},
        "case": {"type": "collect", "prompt": "invalid", "length": 3, "next": "known"},
        "known": {"type": "branch", "on": "collected", "var": "digits", "value": "123", "match": "thanks",
                  "otherwise": "bye"},
        "survey": {"type": "survey", "prompt": "survey", "thanks_prompt": "thanks", "timeout": 5, "next": "bye"},
        "thanks": {"type": "play", "prompt": "thanks", "next": "bye"},
        "bye": {"type": "hangup"},
    },
}




@pytest.fixture(scope="module")
def box(tmp_path_factory):
    data = tmp_path_factory.mktemp("paths")
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    document["flow"] = FLOW
    document["queue"] = {"strategy": "ringall"}
    document["callers"] = {"blocked": [{"number": BLOCKED}]}
    document["operators"] = [{"name": "Anna", "skills": {"legal": 3, "general": 1}, "wrap_up": 0, "retry_pause": 0},
                             {"name": "Boris", "skills": {"psychology": 3, "general": 1}, "wrap_up": 0,
                              "retry_pause": 0}]
    with simulated_box(data, document) as (daemon, simulation):
        yield daemon, simulation, data


def rows(data, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(data / "calls.db") as conn:
        return conn.execute(sql, args).fetchall()


def call(box, caller: str, keys: str = "") -> str:
    """Ring the box, press keys once it answered; return the new call's id."""
    daemon, simulation, data = box
    emulator = simulation.emulators["gsm1"]
    wait_until(lambda: not loop_status(daemon)["calls"], what="the line to be free")
    before = emulator.count("ATA")
    emulator.incoming_call(caller)
    wait_until(lambda: emulator.count("ATA") > before, what="ATA")
    call_id = wait_until(lambda: loop_status(daemon)["calls"], what="the call")[0]["id"]
    if keys:
        emulator.send_dtmf(keys)
    return call_id


def finished(box, call_id: str) -> dict:
    return wait_for_record(box[2], call_id)


def test_leaving_a_message_records_it_compressed(box):
    daemon, simulation, data = box
    call_id = call(box, "+79160000001", "13")  # English, "leave a message"
    wait_until(lambda: daemon.recorders["gsm1"].recording, what="the recording to start")
    recorder = daemon.recorders["gsm1"]
    heard = recorder.frames_captured
    simulation.microphones["gsm1"].speak(2.0)
    wait_until(lambda: recorder.frames_captured >= heard + 8000 * 2.3, what="the caller's 2 s recorded")
    simulation.emulators["gsm1"].send_dtmf("#")
    record = finished(box, call_id)
    assert record["outcome"] == "voicemail"
    (path, seconds), = wait_until(lambda: rows(data, "SELECT path, seconds FROM voicemails WHERE call_id = ?",
                                               call_id), what="the voicemail row")
    assert 1.5 < seconds < 4 and (data / path).read_bytes()[:4] == b"fLaC"


def test_after_hours_go_to_voicemail(box):
    daemon, simulation, data = box
    assert loop_command(daemon, "schedule.override", **{"mode": "closed"})["open"] is False
    try:
        call_id = call(box, "+79160000002", "1")
        wait_until(lambda: daemon.recorders["gsm1"].recording, what="the after-hours recording")
        simulation.emulators["gsm1"].remote_hangup()  # hangs up without a word: too short to keep
        record = finished(box, call_id)
        assert record["outcome"] == "voicemail" and "after_hours" in record["nodes"]
    finally:
        loop_command(daemon, "schedule.override", **{"mode": None})


def test_queue_overflow_then_the_survey_after_an_operator_call(box):
    daemon, simulation, data = box
    emulator, pins = simulation.emulators["gsm1"], simulation.pin_factory
    call_id = call(box, "+79160000003", "11")  # English, legal: Anna rings, nobody lifts within 3 s
    wait_until(lambda: pins.pin(RING["h1"]).state == 1, what="Anna's handset to ring")
    wait_until(lambda: daemon.recorders["gsm1"].recording, what="the overflow to voicemail")
    emulator.remote_hangup()
    assert finished(box, call_id)["outcome"] in ("voicemail", "abandoned")
    assert ["EXITWITHTIMEOUT"] == [e for (e,) in rows(data, "SELECT event FROM call_events WHERE call_id = ? "
                                                     "AND event = 'EXITWITHTIMEOUT'", call_id)]
    call_id = call(box, "+79160000004", "11")
    wait_until(lambda: pins.pin(RING["h1"]).state == 1, what="Anna's handset to ring again")
    pins.pin(HOOK["h1"]).drive_low()
    wait_until(lambda: loop_status(daemon)["calls"][0]["state"] == "connected", what="the connection")
    time.sleep(0.3)  # the behaviour: they talk for a moment
    pins.pin(HOOK["h1"]).drive_high()  # Anna hangs up; the caller hears the survey question
    wait_until(lambda: loop_status(daemon)["calls"] and loop_status(daemon)["calls"][0]["node"] == "survey",
               what="the survey")
    emulator.send_dtmf("4")
    record = finished(box, call_id)
    assert record["outcome"] == "completed" and record["operator"] == "Anna"
    assert rows(data, "SELECT score FROM surveys WHERE call_id = ?", call_id) == [(4,)]


def test_a_callback_request_is_dialled_once_an_operator_lifts(box):
    daemon, simulation, data = box
    emulator, pins = simulation.emulators["gsm1"], simulation.pin_factory
    finished(box, call(box, "+79160000005", "14"))
    handset = wait_until(lambda: next((h for h, p in RING.items() if pins.pin(p).state == 1), None),
                         what="an operator rung for the callback")
    pins.pin(HOOK[handset]).drive_low()
    assert emulator.wait_for("ATD+79160000005", 5)
    wait_until(lambda: rows(data, "SELECT status FROM callbacks WHERE status = 'done'"), what="the callback done")
    pins.pin(HOOK[handset]).drive_high()
    wait_until(lambda: not loop_status(daemon)["calls"], what="the callback call to end")


def test_sms_then_transfer_to_a_competent_service(box):
    daemon, simulation, data = box
    emulator = simulation.emulators["gsm1"]
    call_id = call(box, "+79160000006", "15")
    record = finished(box, call_id)
    assert emulator.count("AT+CMGS") + emulator.count("AT+CMGW") >= 1
    assert any(c.startswith(("AT+CTFR", "AT+CHLD", "ATD+78005550000")) for c in emulator.received)
    assert record["outcome"] in ("transferred", "ended by flow")
    assert rows(data, "SELECT number FROM sms WHERE direction = 'out'")[-1] == ("+79160000006",)


def test_digits_keyed_in_choose_the_branch(box):
    daemon, _, data = box
    call_id = call(box, "+79160000007", "16123")
    record = finished(box, call_id)
    assert "known,thanks" in record["nodes"]


def test_russian_callers_hear_russian_prompts(box):
    daemon, simulation, _ = box
    call_id = call(box, "+79160000008", "2")
    wait_until(lambda: loop_status(daemon)["calls"][0]["node"] == "menu", what="the menu")
    simulation.emulators["gsm1"].remote_hangup()
    assert json.loads(finished(box, call_id)["extra"])["language"] == "ru"


def test_a_blocked_number_is_cut_off(box):
    daemon, simulation, _ = box
    emulator = simulation.emulators["gsm1"]
    wait_until(lambda: not loop_status(daemon)["calls"], what="the line to be free")
    before = emulator.count("ATH")
    call_id = call(box, BLOCKED)
    assert finished(box, call_id)["outcome"] == "blocked"
    # The record is written on the daemon's loop as the hang-up is queued for the line's worker: the ATH reaches
    # the modem a few ms after the record may already be read (it came up to 35 ms later under load).
    wait_until(lambda: emulator.count("ATH") > before, what="the box to hang up on the blocked caller")
