"""What the web page asks of the daemon over its control socket, against a real daemon on simulated hardware."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from appliance import config as configuration
from appliance.service import commands_calls, control
from appliance.sim.simulation import Simulation
from tests.support.status import loop_status
from tests.support.waiting import wait_until

RING = {"h1": 17, "h2": 5}




@pytest.fixture
def box(start_box, tmp_path, monkeypatch):
    monkeypatch.setattr(commands_calls, "SMS_GAP", 0.2)
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    document["prompts"]["storm"] = {"text": "Storm warning.", "lang": "en"}
    document["callers"] = {"lists": {"announcements": ["+70000000001", "+70000000002"]}}
    daemon, simulation = start_box(document, tmp_path)

    def ask(command: str, **args):
        return control.call(daemon.control_path, command, **args)

    return daemon, simulation, ask


def ringing(simulation, handset: str) -> bool:
    return simulation.pin_factory.pin(RING[handset]).state == 1


def call_for_anyone(daemon, simulation) -> None:
    emulator = simulation.emulators["gsm1"]
    emulator.incoming_call("+79160000000")
    assert emulator.wait_for("ATA", 5)
    wait_until(lambda: loop_status(daemon)["calls"], 5, "the call in the flow")
    emulator.send_dtmf("10")  # English, then "anything else"


def test_a_logged_out_operator_is_not_rung_and_a_login_takes_the_waiting_caller(box):
    daemon, simulation, ask = box
    assert ask("operator.logout", operator="Anna") == {"ok": True, "operator": "Anna", "state": "logged_out",
                                                        "handset": None}
    assert ask("operator.pause", operator="Boris", reason="lunch")["state"] == "paused"
    call_for_anyone(daemon, simulation)
    wait_until(lambda: loop_status(daemon)["waiting"], what="the caller to wait")
    time.sleep(0.3)  # the behaviour is an absence: a wrongly rung handset would ring within this
    assert not ringing(simulation, "h1") and not ringing(simulation, "h2")
    assert ask("operator.login", operator="Anna", handset="h1")["state"] == "available"
    wait_until(lambda: ringing(simulation, "h1"), what="Anna's handset to ring")
    assert not ringing(simulation, "h2")


@pytest.mark.parametrize("command, args, error", [
    ("operator.login", {"operator": "Nobody", "handset": "h1"}, "no operator called 'Nobody'"),
    ("operator.login", {"operator": "Anna", "handset": "h9"}, "no handset 'h9'"),
    ("operator.pause", {"operator": "Anna"}, "reason is needed"),
    ("announcement.set", {"prompt": "nope"}, "no prompt 'nope'"),
    ("callback.request", {"number": "call me"}, "is not a phone number"),
])
def test_bad_requests_are_refused_and_change_nothing(box, command, args, error):
    daemon, _, ask = box
    before = loop_status(daemon)
    reply = ask(command, **args)
    assert reply["ok"] is False and error in reply["error"]
    assert loop_status(daemon)["operators"] == before["operators"] and loop_status(daemon)["announcement"] is None


def test_the_emergency_announcement_reaches_callers_and_the_opted_in_list(box):
    daemon, simulation, ask = box
    assert ask("announcement.set", prompt="storm", sms="Storm warning: stay indoors.") == {
        "ok": True, "announcement": "storm", "sms_queued": 2}
    emulator = simulation.emulators["gsm1"]
    wait_until(lambda: emulator.count("AT+CMGS") + emulator.count("AT+CMGW") >= 2, what="both SMS sent")
    emulator.incoming_call("+79160000000")
    wait_until(lambda: any(c["node"] == "hours" or c["node"] == "menu" for c in loop_status(daemon)["calls"])
               or daemon.players["gsm1"].playing, what="the call to start")
    wait_until(lambda: loop_status(daemon)["calls"] and loop_status(daemon)["calls"][0]["node"] == "menu", 15,
               what="the menu after the announcement")
    with sqlite3.connect(daemon.data_dir / "calls.db") as conn:
        sent = conn.execute("SELECT number FROM sms WHERE direction = 'out' ORDER BY number").fetchall()
    assert [n for (n,) in sent] == ["+70000000001", "+70000000002"]
    assert ask("announcement.set", prompt=None)["announcement"] is None


def test_a_callback_asked_for_from_the_web_rings_an_operator_then_dials(box):
    daemon, simulation, ask = box
    assert ask("callback.request", number="+79165550000")["queued"] == "+79165550000"
    wait_until(lambda: ringing(simulation, "h1") or ringing(simulation, "h2"), what="an operator rung")
    handset = "h1" if ringing(simulation, "h1") else "h2"
    simulation.pin_factory.pin({"h1": 27, "h2": 6}[handset]).drive_low()
    assert simulation.emulators["gsm1"].wait_for("ATD+79165550000", 5)


def test_notes_types_and_tickets_land_in_the_call_record(box):
    daemon, simulation, ask = box
    call_for_anyone(daemon, simulation)
    call_id = wait_until(lambda: loop_status(daemon)["calls"], what="a call")[0]["id"]
    assert ask("call.note", call=call_id, author="Anna", text="Needs a lawyer")["ok"]
    assert ask("call.type", call=call_id, type="data", category="housing")["ok"]
    ticket = ask("ticket.open", call=call_id, title="Find a lawyer", author="Anna")["ticket"]
    assert ask("ticket.update", id=ticket, status="in progress")["ok"]
    assert ask("call.note", call="no-such-call", author="Anna", text="x")["ok"] is False
    with sqlite3.connect(daemon.data_dir / "calls.db") as conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("Needs a lawyer",)]
        assert conn.execute("SELECT status FROM tickets").fetchall() == [("in progress",)]


def test_a_caller_can_have_everything_exported_then_erased(box):
    daemon, simulation, ask = box
    emulator = simulation.emulators["gsm1"]
    emulator.incoming_call("+79161112233")
    assert emulator.wait_for("ATA", 5)
    wait_until(lambda: loop_status(daemon)["calls"], 5, "the call in the flow")
    emulator.remote_hangup()
    wait_until(lambda: not loop_status(daemon)["calls"], what="the call to end")
    exported = ask("caller.export", caller="+79161112233", actor="admin")
    assert exported["ok"] and exported["export"]["calls"]
    assert ask("caller.erase", caller="+79161112233", actor="admin")["erased"]["calls"] == 1
    assert ask("caller.export", caller="+79161112233", actor="admin")["export"]["calls"] == []


def test_callbacks_waiting_when_the_daemon_stops_are_still_there_after_a_restart(tmp_path):
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    for spec in document["handsets"]:
        spec.pop("operator")  # nobody on duty: requests can only wait
    simulation = Simulation(document)
    config = configuration.parse(simulation.document, simulated=True)
    daemon = simulation.daemon(config, tmp_path)
    daemon.start()
    runner = threading.Thread(target=daemon.run, daemon=True)
    runner.start()
    assert control.call(daemon.control_path, "callback.request", number="+79165550001")["ok"]
    assert loop_status(daemon)["waiting"][0]["callback"] is True
    daemon.stop()
    runner.join(10)
    again = simulation.daemon(config, tmp_path)
    again.start()
    try:
        assert [w["callback"] for w in again.status()["waiting"]] == [True]
    finally:
        again.shutdown()
        simulation.close()
