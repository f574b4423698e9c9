"""The two-way text line end to end: texts delivered by the pty modem emulator (+CMTI, AT+CMGR), conversations
in calls.db, replies read back from the emulator's AT+CMGS, in pseudonym mode (the page never has the number)."""

from __future__ import annotations

import sqlite3

import pytest

from appliance import config as configuration
from appliance.modem import sms_pdu
from appliance.records.store.calls import CallStore
from appliance.records.store.retention import enforce_retention
from appliance.records.store.texts import conversation, conversations
from tests.support.status import loop_command, loop_status
from tests.support.waiting import wait_until

CALLER, OTHER = "+79161112233", "+79164445566"
HOSTILE = "<script>alert(1)</script>\x07\x1b[31m & \"quotes\""


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    from tests.support.boxes import simulated_box

    data = tmp_path_factory.mktemp("texts")
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    document["prompts"]["closed"]["text"] = "Flood warning: the office is closed. Call 112 in danger."
    document["privacy"] = {"numbers": "pseudonym"}
    document["texts"] = {"canned": ["We hear you."]}
    with simulated_box(data, document) as (daemon, simulation):
        wait_until(lambda: loop_status(daemon)["lines"][0]["state"] == "up", what="the line up")
        yield daemon, simulation, data


def test_a_text_opens_a_conversation_for_an_operator_and_the_reply_reaches_the_caller(box):
    daemon, simulation, data = box
    emulator = simulation.emulators["gsm1"]
    emulator.deliver_sms(CALLER, HOSTILE)
    (opened,) = wait_until(lambda: conversations(data / "calls.db"), what="the conversation")
    assert opened["operator"] in ("Anna", "Boris") and opened["stored_caller"].startswith("~")
    emulator.deliver_sms(CALLER, "still there?")
    wait_until(lambda: len(conversation(data / "calls.db", opened["id"])[1]) == 2, what="the second text joined")
    head, messages = conversation(data / "calls.db", opened["id"])
    assert [m["text"] for m in messages] == [HOSTILE, "still there?"]  # kept exactly as it came
    assert CALLER not in str(head) and CALLER not in str(messages)
    assert loop_command(daemon, "text.reply", **{"id": opened["id"], "text": "We hear you.", "author": "Anna"})
    wait_until(lambda: ("We hear you." in [t for n, t, _ in emulator.script.messages.sent_sms if n == CALLER]),
               what="the reply through AT+CMGS")
    _, messages = conversation(data / "calls.db", opened["id"])
    assert (messages[-1]["direction"], messages[-1]["author"]) == ("out", "Anna")
    long_reply = "Мы рядом. " * 20  # UCS-2, three parts: PDU mode
    before = len(emulator.script.messages.sent_pdus)
    loop_command(daemon, "text.reply", **{"id": opened["id"], "text": long_reply, "author": "Anna"})
    wait_until(lambda: len(emulator.script.messages.sent_pdus) >= before + len(sms_pdu.split(long_reply)[1]),
               timeout=30, what="the long reply's parts")
    assert len(sms_pdu.split(long_reply)[1]) == 3
    assert loop_command(daemon, "text.close", **{"id": opened["id"], "by": "Anna"}) == {"closed": opened["id"]}
    with pytest.raises(LookupError):
        loop_command(daemon, "text.reply", **{"id": opened["id"], "text": "late", "author": "Anna"})


def test_the_emergency_announcement_answers_a_new_text_once(box):
    daemon, simulation, data = box
    emulator = simulation.emulators["gsm1"]
    loop_command(daemon, "announcement.set", **{"prompt": "closed"})
    try:
        emulator.deliver_sms(OTHER, "is anyone there")
        wait_until(lambda: any("Flood warning" in t for n, t, _ in emulator.script.messages.sent_sms if n == OTHER),
                   what="the announcement's words by SMS")
        emulator.deliver_sms(OTHER, "hello?")
        wait_until(lambda: any(c["last"] == "hello?" for c in conversations(data / "calls.db")), what="the 2nd text")
        assert sum("Flood warning" in t for n, t, _ in emulator.script.messages.sent_sms if n == OTHER) == 1
    finally:
        loop_command(daemon, "announcement.set", **{"prompt": None})


def test_retention_erases_old_conversations_with_their_texts(box, tmp_path):
    _, _, data = box
    copy = tmp_path / "calls.db"
    with sqlite3.connect(data / "calls.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    (tmp_path / "privacy.key").write_bytes((data / "privacy.key").read_bytes())
    store = CallStore(copy)
    removed = enforce_retention(store, 4e9, {"sms": 30})
    store.close()
    assert removed["conversations"] >= 2 and removed["sms"] >= 4
    assert conversations(copy) == [] and conversations(copy, "closed") == []


def test_a_caller_seen_only_as_a_pseudonym_can_be_flagged_at_risk_by_their_call(box):
    from appliance.records.store.queries import CallLog

    daemon, simulation, data = box
    emulator = simulation.emulators["gsm1"]
    emulator.incoming_call(CALLER)
    call_id = wait_until(lambda: loop_status(daemon)["calls"], what="the call")[0]["id"]
    with pytest.raises(ValueError, match="risk must be true or false"):
        loop_command(daemon, "caller.risk", **{"call": call_id, "author": "Anna", "risk": "yes"})
    with pytest.raises(LookupError, match="no call 'nope'"):
        loop_command(daemon, "caller.risk", **{"call": "nope", "author": "Anna", "risk": True})
    loop_command(daemon, "caller.risk", **{"call": call_id, "author": "Anna", "risk": True, "reason": "threats",
                                    "safety_plan": "Friend nearby"})
    emulator.remote_hangup()
    wait_until(lambda: not loop_status(daemon)["calls"], what="the call over")
    emulator.incoming_call(CALLER)
    again = wait_until(lambda: loop_status(daemon)["calls"], what="the next call")[0]["id"]
    record = wait_until(lambda: CallLog(data / "calls.db").call(again, role="operator"), what="its record")
    assert record["caller"].startswith("~")
    assert (record["history"]["risk"]["risk"], record["history"]["risk"]["safety_plan"]) == (1, "Friend nearby")
    emulator.remote_hangup()
