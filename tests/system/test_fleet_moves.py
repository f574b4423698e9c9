"""Moving a waiting caller to a sibling box with a free operator (issue 21, item 4): three real daemons on one real
Mosquitto. The caller waits on office-a, where nobody is at a desk; office-b has a legal operator free, office-c
only a psychologist. Office-a hands the caller to office-b's number by the line's own transfer path (AT+CHLD=2,
ATD, AT+CHLD=4 on the pty emulator); the test plays the network between the two emulators, presenting office-a's
number on office-b's line as a real network does for a call office-a dialled."""

from __future__ import annotations

import contextlib
import copy
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import tomli_w

from appliance.service import control
from appliance.sim.simulation import Simulation
from tests.support.boxes import running_daemon
from tests.support.broker import (  # noqa: F401 - the fixtures
    Listener,
    box_data,
    broker_fixture,
    fleet_document,
    prompt_cache_fixture,
)
from tests.support.status import loop_status
from tests.support.waiting import wait_until
from tests.support.web import login, set_up
from tests.system.test_fleet import schemas
from web import create_app

A_NUMBER, B_NUMBER, C_NUMBER = "+79169990001", "+79169990002", "+79169990003"
CALLER = "+79161234567"


def documents(broker) -> tuple[dict, dict, dict]:
    a = fleet_document(broker, "office-a", numbers=[A_NUMBER], move_after=1)
    for handset in a["handsets"]:
        handset.pop("operator")  # nobody at office-a's desks: its callers wait
    b = fleet_document(broker, "office-b", numbers=[B_NUMBER])
    c = fleet_document(broker, "office-c", numbers=[C_NUMBER])
    c["handsets"][0].pop("operator")  # office-c: only Boris (psychology, general) is free, nobody for legal
    return a, b, c


def timeline(data: Path, call_id: str | None = None) -> list[tuple[str, str | None]]:
    """The ended call's events (the only call's, unless named), read once its record is closed."""
    with contextlib.closing(sqlite3.connect(data / "calls.db")) as db:
        where = "c.id = ?" if call_id else "1"
        rows = db.execute("SELECT e.event, e.detail FROM calls c JOIN call_events e ON e.call_id = c.id "
                          f"WHERE c.ended_at IS NOT NULL AND {where} ORDER BY e.at, e.id",
                          [call_id] if call_id else []).fetchall()
    return [(event, detail) for event, detail in rows]


def outcome(data: Path) -> tuple[str, str] | None:
    with contextlib.closing(sqlite3.connect(data / "calls.db")) as db:
        return db.execute("SELECT outcome, reason FROM calls WHERE ended_at IS NOT NULL").fetchone()


def a_caller_waiting_for_legal(daemon, emulator) -> str:
    emulator.incoming_call(CALLER)
    assert emulator.wait_for("ATA", timeout=10)
    emulator.send_dtmf("1")  # English
    live = lambda: next((c for c in daemon.core.line_calls.values() if c is not None), None)  # noqa: E731
    wait_until(lambda: live() is not None and live().node == "menu", 20, "the main menu")
    emulator.send_dtmf("1")  # legal
    return live().id


def signed_in(data: Path, control_path, language: str = "en"):
    """A web client of the box, signed in as its first admin, who reads the pages in `language`."""
    client = create_app(data, control_path=control_path).test_client()
    assert set_up(client, data, lang=language).status_code == 302
    assert login(client).status_code == 302
    return client


def fleet_page(client) -> str:
    return client.get("/fleet").text


def told_a_caller_is_coming(daemon) -> bool:
    """A sibling's word that it is moving a caller here has reached this box (core/moves.py's `coming`)."""
    return any(daemon.core.moves.coming.values())


def hears(daemon, box: str, skill: str) -> bool:
    sibling = daemon.core.moves.siblings.get(box)
    return sibling is not None and sibling.offers(skill) > 0


@pytest.mark.slow  # three daemons: 8 s on a quiet machine, 13 s at a load of 16
def test_a_waiting_caller_is_moved_to_the_sibling_with_a_free_operator_and_both_records_say_so(
        broker, prompt_cache, start_box, tmp_path):
    a_doc, b_doc, c_doc = documents(broker)
    listener = Listener(broker)
    b_data = box_data(prompt_cache, tmp_path / "b")
    a, a_sim = start_box(a_doc, data=box_data(prompt_cache, tmp_path / "a"))
    b, b_sim = start_box(b_doc, data=b_data)
    start_box(c_doc, data=box_data(prompt_cache, tmp_path / "c"))
    wait_until(lambda: hears(a, "office-b", "legal") and hears(a, "office-c", "psychology")
               and "office-a" in b.core.moves.siblings,
               what="the boxes hearing each other's status")
    assert not hears(a, "office-c", "legal")
    a_line, b_line = a_sim.emulators["gsm1"], b_sim.emulators["gsm1"]
    call_id = a_caller_waiting_for_legal(a, a_line)

    # Office-a puts the caller on hold and dials office-b's number (not office-c's: nobody there for legal).
    assert a_line.wait_for(f"ATD{B_NUMBER}", timeout=20), "office-a never dialled office-b"
    assert a_line.count("AT+CHLD=2") == 1 and a_line.count(f"ATD{C_NUMBER}") == 0
    # A network's call set-up takes seconds, the broker's word milliseconds: the call reaches office-b after it
    # (here the test rings at once, so it waits for the word, which a loaded CI machine once delayed past the ring).
    wait_until(lambda: told_a_caller_is_coming(b), what="office-b told over the broker that a caller is coming")
    b_line.incoming_call(A_NUMBER)  # the network: office-a's call reaches office-b, showing office-a's number
    assert a_line.wait_for("AT+CHLD=4", timeout=10), "the transfer was not completed"
    assert a_line.script.transferred == [(CALLER, B_NUMBER)]

    # Office-a's record: moved, to whom, and why.
    wait_until(lambda: outcome(a.data_dir), what="office-a's record closed")
    assert outcome(a.data_dir) == ("transferred", "moved to office-b: an operator was free there")
    events = timeline(a.data_dir, call_id)
    assert ("MOVE", f"to office-b ({B_NUMBER})") in events and ("MOVED", "office-b") in events
    assert [e for e, _ in events].index("MOVE") > [e for e, _ in events].index("ENTERQUEUE")

    # Office-b's: a caller moved here from office-a, who chose legal in English there: office-a said so over the
    # broker before the transfer, so office-b puts them straight in its legal queue ("connecting you", in English)
    # and rings its legal desk: no greeting, no menu again.
    assert b_line.wait_for("ATA", timeout=10)
    moved = wait_until(lambda: (c := b.core.line_calls["gsm1"]) is not None and c.queued and c,
                       what="office-b queueing the caller")
    assert moved.nodes == ["legal"] and moved.skill == "legal" and moved.language == "en"
    assert moved.playing == "fleet.connecting_en" and moved.ringing
    b_line.remote_hangup()
    wait_until(lambda: timeline(b_data), what="office-b's record closed")
    events = timeline(b_data)
    assert ("FROM_SIBLING", "office-a") in events
    # What office-a said (share_callers off: no number crossed), and which of office-a's records is this caller's.
    assert re.fullmatch(rf"legal, waited \d+ s, en \(office-a's call {call_id}\)",
                        [d for e, d in events if e == "MOVED_IN"][0])

    # What crossed the broker about the move: office-a's word, office-b's "landed"; as documented, and no number.
    words = listener.on("hotline/office-a/moves") + listener.on("hotline/office-b/moves")
    listener.close()
    assert [(w["box"], w["to"], w["call"], w["skill"], w["language"], w["landed"]) for w in words] == [
        ("office-a", "office-b", call_id, "legal", "en", False), ("office-b", "office-a", call_id, None, None, True)]
    for word in words:
        jsonschema.validate(word, schemas()["moves"])
    assert CALLER[-7:] not in listener.raw()

    # Each box's fleet page lists the move (office-b's admin reads Russian); office-a's says when callers move.
    page = fleet_page(signed_in(a.data_dir, a.control_path))
    assert "moved to</td><td translate=\"no\">office-b<" in page
    assert "Callers who wait longer than 1 s are moved to a box with an operator free for their skill." in page
    assert "legal 1" in page  # office-b's free operator by skill (office-c: psychology, general)
    page = fleet_page(signed_in(b_data, b.control_path, "ru"))
    assert "переведён сюда с</td><td translate=\"no\">office-a<" in page
    assert re.search(r"<td>legal, ждал там \d+ с, en</td>", page)  # what the caller chose there, in Russian
    assert "Это устройство не переводит ждущих абонентов на другие устройства." in page


def test_a_sibling_no_longer_free_mid_transfer_leaves_the_caller_in_the_queue_at_their_place(
        broker, prompt_cache, start_box, tmp_path):
    a_doc, b_doc, _ = documents(broker)
    a_doc["fleet"]["box"], b_doc["fleet"]["box"] = "office-d", "office-e"  # apart from the other test's boxes
    a, a_sim = start_box(a_doc, data=box_data(prompt_cache, tmp_path / "a"))
    b, _ = start_box(b_doc, data=box_data(prompt_cache, tmp_path / "b"))
    wait_until(lambda: hears(a, "office-e", "legal"), what="office-d hearing office-e's free operator")
    a_line = a_sim.emulators["gsm1"]
    a_line.script.phones[B_NUMBER] = "silent"  # office-e's line rings on: the transfer waits for it
    call_id = a_caller_waiting_for_legal(a, a_line)
    assert a_line.wait_for(f"ATD{B_NUMBER}", timeout=20)
    assert not a.status()["waiting"]  # out of the queue while being handed on

    control.call(b.control_path, "operator.pause", operator="Anna", reason="away")  # office-e: legal away
    assert a_line.wait_for("AT+CHLD=1", timeout=10), "the transfer was not called off"
    call = wait_until(lambda: (c := a.core.line_calls["gsm1"]) is not None and c.queued and c, what="back in line")
    assert [w["call"] for w in a.status()["waiting"]] == [call_id]
    assert ("FAILED", "move to office-e: office-e has no operator free for the caller any more") in [
        (e["event"], e["detail"]) for e in call.events]
    assert a_line.count("AT+CHLD=4") == 0 and a_line.script.transferred == []
    a_line.remote_hangup()
    wait_until(lambda: outcome(a.data_dir), what="office-d's record closed")
    assert outcome(a.data_dir)[0] == "abandoned"


def test_a_call_off_that_comes_as_the_calls_are_joined_leaves_the_caller_with_the_sibling_and_both_records_agree(
        broker, prompt_cache, start_box, tmp_path):
    a_doc, b_doc, _ = documents(broker)
    a_doc["fleet"]["box"], b_doc["fleet"]["box"] = "office-f", "office-g"  # apart from the other tests' boxes
    b_data = box_data(prompt_cache, tmp_path / "b")
    a, a_sim = start_box(a_doc, data=box_data(prompt_cache, tmp_path / "a"))
    b, b_sim = start_box(b_doc, data=b_data)
    wait_until(lambda: hears(a, "office-g", "legal") and "office-f" in b.core.moves.siblings,
               what="the boxes hearing each other")
    a_line, b_line = a_sim.emulators["gsm1"], b_sim.emulators["gsm1"]
    join = a_line.script.gate("AT+CHLD=4")  # the network takes its time joining the two calls
    call_id = a_caller_waiting_for_legal(a, a_line)
    assert join.reached.wait(20), "office-f never joined the calls"

    # Office-g's legal operator goes away while the network joins: office-f calls the move off, too late.
    control.call(b.control_path, "operator.pause", operator="Anna", reason="away")
    wait_until(lambda: (m := a.core.moves.moving.get(call_id)) is not None and m.called_off, what="the call-off")
    join.opened.set()
    wait_until(lambda: outcome(a.data_dir), what="office-f's record closed")
    assert a_line.count("AT+CHLD=1") == 0 and a_line.script.transferred == [(CALLER, B_NUMBER)]

    # The network brings the caller to office-g, which takes them in (they wait there, ahead of its own callers).
    wait_until(lambda: told_a_caller_is_coming(b), what="office-g told over the broker that a caller is coming")
    b_line.incoming_call(A_NUMBER)
    moved = wait_until(lambda: (c := b.core.line_calls["gsm1"]) is not None and c.queued and c, what="office-g")
    assert moved.skill == "legal" and moved.priority
    b_line.remote_hangup()
    wait_until(lambda: timeline(b_data), what="office-g's record closed")

    # Both records say the caller went from office-f to office-g: office-f's that it joined before the call-off
    # took effect, office-g's which of office-f's calls it took.
    why = "office-g has no operator free for the caller any more"
    assert outcome(a.data_dir) == ("transferred", "moved to office-g: joined before the call-off took effect: "
                                                  "the caller is theirs")
    assert ("MOVED", f"office-g: joined before the call-off ({why})") in timeline(a.data_dir, call_id)
    assert not [e for e, _ in timeline(a.data_dir, call_id) if e == "FAILED"]
    assert [d for e, d in timeline(b_data) if e == "MOVED_IN"][0].endswith(f"(office-f's call {call_id})")


@pytest.mark.slow  # a landline call: its prompts go over the serial port (8 s on a quiet machine)
def test_a_caller_on_an_analogue_line_is_left_out_of_moves_from_the_start(broker, prompt_cache, start_box, tmp_path):
    a_doc, b_doc, _ = documents(broker)
    a_doc["fleet"]["box"], b_doc["fleet"]["box"] = "office-h", "office-i"  # apart from the other tests' boxes
    a_doc["lines"][0].update(id="pots1", dialect="v253")  # office-h's line: a landline voice modem
    for handset in a_doc["handsets"]:
        handset["audio_pins"] = {"pots1": handset["audio_pins"].pop("gsm1")}
    a_doc["flow"]["start"] = "welcome"  # greeting, then the menu (no language choice: keys over DLE are slow)
    for node in ("choose_language", "language"):
        del a_doc["flow"]["nodes"][node]
    a, a_sim = start_box(a_doc, data=box_data(prompt_cache, tmp_path / "a"))
    start_box(b_doc, data=box_data(prompt_cache, tmp_path / "b"))
    # office-i starts, meets the broker and is heard by office-h: well over 10 s at a load of 16.
    wait_until(lambda: hears(a, "office-i", "legal"), 40, "office-h hearing office-i's free legal operator")
    pots = a_sim.emulators["pots1"]
    pots.script.ring_period = 0.5  # the box answers on the second ring, after the caller ID
    pots.incoming_call(CALLER)
    live = lambda: a.core.line_calls["pots1"]  # noqa: E731
    wait_until(lambda: live() is not None and live().node == "menu" and pots.voice.mode == "tx", 20,
               "the main menu playing")
    pots.send_dtmf("1")  # legal: nobody at office-h's desks, one free at office-i
    wait_until(lambda: [w["seconds"] for w in loop_status(a)["waiting"] if w["seconds"] >= 3], 30,
               "the caller waiting three times move_after")

    # Not tried at all (no transfer on the line, no FAILED try in the record): the caller keeps their place.
    assert [e["event"] for e in live().events if e["event"] in ("MOVE", "FAILED")] == []
    assert pots.count("AT+CHLD") == 0 and live().queued
    page = fleet_page(signed_in(a.data_dir, a.control_path, "ru"))
    assert "Абонентов на линии pots1 не переводят: аналоговая (V.253) линия не умеет передавать звонки." in page


def test_a_line_showing_a_number_the_fleet_numbers_leave_out_is_named_by_hotline_check_and_the_fleet_page(
        broker, prompt_cache, tmp_path):
    document = fleet_document(broker, "office-j", numbers=[A_NUMBER], move_after=30)
    simulation = Simulation(document)
    simulation.emulators["gsm1"].script.network.own_number = "+79169990009"  # the SIM's own number: not in the list
    data = box_data(prompt_cache, tmp_path / "j")
    try:
        with running_daemon(simulation, data) as daemon:
            alarm = wait_until(lambda: next((a for a in daemon.status()["alarms"] if a["id"] == "fleet.numbers"),
                                            None), what="the fleet.numbers alarm")
            assert alarm["severity"] == "warning" and alarm["text"].startswith(
                "line gsm1 shows +79169990009, which [fleet] numbers does not list")

            # `hotline check` on the box prints it (and says something is wrong) before any caller is moved.
            config = tmp_path / "hotline.toml"
            real = copy.deepcopy(document)
            real["lines"][0]["port"] = "loop://"  # a real box's config: no simulator port
            config.write_text(tomli_w.dumps(real))
            checked = subprocess.run([sys.executable, "-m", "appliance.cli", "check", "--no-hardware", "--config",
                                      str(config), "--data", str(data)], capture_output=True, text=True, timeout=60)
            assert checked.returncode == 1
            assert "alarm fleet.numbers (warning): line gsm1 shows +79169990009, which [fleet] numbers does not " \
                   "list" in checked.stdout

            # The fleet page says it in the admin's language (Russian here).
            page = fleet_page(signed_in(data, daemon.control_path, "ru"))
            assert "Линия gsm1 показывает номер +79169990009, которого нет в [fleet] numbers" in page
    finally:
        simulation.close()

    # Listed (in its national form too), the alarm is gone.
    document["fleet"]["numbers"] = [A_NUMBER, "89169990009"]
    simulation = Simulation(document)
    simulation.emulators["gsm1"].script.network.own_number = "+79169990009"
    try:
        with running_daemon(simulation, box_data(prompt_cache, tmp_path / "k")) as daemon:
            wait_until(lambda: daemon.status()["lines"][0]["modem"].get("number") == "+79169990009",
                       what="the line's own number read")
            assert "fleet.numbers" not in [a["id"] for a in daemon.status()["alarms"]]
    finally:
        simulation.close()
