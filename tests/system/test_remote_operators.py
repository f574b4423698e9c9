"""Remote operators on the real daemon and the pty modem emulator (issue 20 item 1): the caller's line holds the
caller (AT+CHLD=2), dials the volunteer's phone, which hears the whisper; one declines, the next presses 1 and
the network joins them (AT+CHLD=3); a network that refuses hold stops the box offering remote operators there."""

from __future__ import annotations

import pytest

from appliance import config as configuration
from appliance.records.store.queries import CallLog
from appliance.service import control
from tests.support.boxes import simulated_box
from tests.support.status import loop_status, on_loop
from tests.support.waiting import wait_until

VERA, GLEB = "+79160000001", "+79160000002"


def remote_document() -> dict:
    document = configuration.default_document()
    document["operators"] = [{"name": "Anna", "skills": ["legal", "general"]},
                             {"name": "Boris", "skills": ["psychology", "general"]},
                             {"name": "Vera", "skills": ["legal"], "phone": VERA, "retry_pause": 60,
                              "wrap_up": 0},
                             {"name": "Gleb", "skills": ["legal"], "phone": GLEB, "wrap_up": 0}]
    document["queue"]["strategy"] = "linear"
    document["flow"]["start"] = "legal"  # straight to the queue: the menu is tested elsewhere
    return document


def _call(daemon):
    return daemon.core.line_calls["gsm1"]


def _to_legal(daemon, emulator, caller: str) -> None:
    assert emulator.incoming_call(caller)


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    with simulated_box(tmp_path_factory.mktemp("remote"), remote_document()) as (daemon, simulation):
        yield daemon, simulation


@pytest.mark.slow  # the daemon makes its prompts first (~10 s on a loaded machine); the calls take ~1 s
def test_a_volunteer_declines_the_next_accepts_with_1_and_a_network_refusing_hold_stops_remote_ringing(box):
    daemon, simulation = box
    emulator = simulation.emulators["gsm1"]
    emulator.script.conference = False
    script = emulator.script
    script.phones.update({VERA: "decline", GLEB: "accept"})
    ops = daemon.core.operators
    for name in ("Anna", "Boris"):
        ops.logout(name, daemon.clock.wall())
    ops.login("Vera", "phone:Vera", daemon.clock.wall())
    ops.login("Gleb", "phone:Gleb", daemon.clock.wall())

    dialled = {n: emulator.count(f"ATD{n}") for n in (VERA, GLEB)}
    holds, drops = emulator.count("AT+CHLD=2"), emulator.count("AT+CHLD=1")
    _to_legal(daemon, emulator, "+79165550101")
    wait_until(lambda: _call(daemon) is not None and _call(daemon).connected_at is not None, 20,
               "Gleb to accept")
    call = _call(daemon)
    assert (call.operator, call.handset) == ("Gleb", "phone:Gleb")
    assert {n: emulator.count(f"ATD{n}") - dialled[n] for n in dialled} == {VERA: 1, GLEB: 1}
    wait_until(lambda: script.conference, 10, "the conference")
    assert (emulator.count("AT+CHLD=2") - holds, emulator.count("AT+CHLD=1") - drops) == (2, 1)  # Vera dropped
    emulator.remote_hangup()
    wait_until(lambda: _call(daemon) is None, 10, "the call to end")
    record = wait_until(lambda: (r := CallLog(daemon.store.path).call(call.id)) and r["outcome"] and r, 10,
                        "the finished record")
    assert (record["operator"], record["handset"], record["outcome"]) == ("Gleb", "phone:Gleb", "completed")
    events = [(e["event"], e["detail"]) for e in record["events"]]
    assert ("RINGNOANSWER", "declined with 2") in events and ("JOINED", "conference") in events

    # A SIM whose network refuses hold: the caller is not put on hold again, and the status says why.
    script.refuse.add("hold")
    script.conference = False
    _to_legal(daemon, emulator, "+79165550102")
    wait_until(lambda: loop_status(daemon)["lines"][0]["remote_refused"], 20, "the refusal to be noted")
    assert "refused to hold" in loop_status(daemon)["lines"][0]["remote_refused"]
    assert {n: emulator.count(f"ATD{n}") - dialled[n] for n in dialled} == {VERA: 1, GLEB: 1}
    emulator.remote_hangup()
    wait_until(lambda: _call(daemon) is None, 10, "the call to end")
    script.refuse.discard("hold")
    daemon.core.queue.remote_refused.clear()


def test_a_volunteer_calls_back_as_the_helpline_from_her_phone(box):
    """Her phone rings first (dialled from the line); she presses 1; the caller is dialled with her held and the
    two are joined in a conference: the caller sees the helpline's number."""
    daemon, simulation = box
    emulator, script = simulation.emulators["gsm1"], simulation.emulators["gsm1"].script
    wait_until(lambda: _call(daemon) is None and script.call == "idle", 10, "a free line")
    script.conference = False
    script.phones[VERA] = "accept"
    control.call(daemon.control_path, "operator.login", operator="Vera", handset="phone:Vera")
    daemon.core.operators.get("Vera").retry_after = 0.0  # she declined a caller in the other test
    vera_dials = emulator.count(f"ATD{VERA}")
    assert control.call(daemon.control_path, "callback.request", number="+79165550303", operator="Vera")["ok"]
    wait_until(lambda: script.conference, 20, "Vera and the caller joined")
    assert emulator.count(f"ATD{VERA}") == vera_dials + 1 and emulator.count("ATD+79165550303") == 1

    def connected():  # on the loop: the modem joins them as it takes AT+CHLD=3, the box once it has read the OK
        call = _call(daemon)
        return call if call is not None and call.connected_at is not None else None

    call = wait_until(lambda: on_loop(daemon, connected), 10, "the box to have Vera and the caller connected")
    assert (call.operator, call.handset) == ("Vera", "phone:Vera")
    emulator.remote_hangup()
    wait_until(lambda: _call(daemon) is None, 10, "the callback to end")
