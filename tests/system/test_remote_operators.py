"""Remote operators on the real daemon and the pty modem emulator (issue 20 item 1): the caller's line holds the
caller (AT+CHLD=2), dials the volunteer's phone, which hears the whisper; one declines, the next presses 1 and
the network joins them (AT+CHLD=3); a network that refuses hold stops the box offering remote operators there."""

from __future__ import annotations

import pytest

from appliance import config as configuration
from appliance.records.store.calls import CallLog
from tests.support.boxes import simulated_box
from tests.support.waiting import wait_until

VERA, GLEB = "+79160000001", "+79160000002"


def remote_document() -> dict:
    document = configuration.default_document()
    document["operators"] = [{"name": "Anna", "skills": ["legal", "general"]},
                             {"name": "Boris", "skills": ["psychology", "general"]},
                             {"name": "Vera", "skills": ["legal"], "phone": VERA, "retry_pause": 60},
                             {"name": "Gleb", "skills": ["legal"], "phone": GLEB, "wrap_up": 0}]
    document["queue"]["strategy"] = "linear"
    document["flow"]["start"] = "legal"  # straight to the queue: the menu is tested elsewhere
    return document


def _call(daemon):
    return daemon.core.line_calls["gsm1"]


def _to_legal(daemon, emulator, caller: str) -> None:
    assert emulator.incoming_call(caller)


@pytest.mark.slow  # the daemon renders its prompts first (~10 s on a loaded machine); the calls take ~1 s
def test_a_volunteer_declines_the_next_accepts_with_1_and_a_network_refusing_hold_stops_remote_ringing(tmp_path):
    with simulated_box(tmp_path, remote_document()) as (daemon, simulation):
        emulator = simulation.emulators["gsm1"]
        script = emulator.script
        script.phones.update({VERA: "decline", GLEB: "accept"})
        ops = daemon.core.operators
        for name in ("Anna", "Boris"):
            ops.logout(name, daemon.clock.wall())
        ops.login("Vera", "phone:Vera", daemon.clock.wall())
        ops.login("Gleb", "phone:Gleb", daemon.clock.wall())

        _to_legal(daemon, emulator, "+79165550101")
        wait_until(lambda: _call(daemon) is not None and _call(daemon).connected_at is not None, 20,
                   "Gleb to accept")
        call = _call(daemon)
        assert (call.operator, call.handset) == ("Gleb", "phone:Gleb")
        assert emulator.count(f"ATD{VERA}") == 1 and emulator.count(f"ATD{GLEB}") == 1
        wait_until(lambda: script.conference, 10, "the conference")
        assert emulator.count("AT+CHLD=2") == 2 and emulator.count("AT+CHLD=1") == 1  # Vera's leg dropped
        emulator.remote_hangup()
        wait_until(lambda: _call(daemon) is None, 10, "the call to end")
        record = wait_until(lambda: CallLog(daemon.store.path).call(call.id), 10, "the record")
        assert (record["operator"], record["handset"], record["outcome"]) == ("Gleb", "phone:Gleb", "completed")
        events = [(e["event"], e["detail"]) for e in record["events"]]
        assert ("RINGNOANSWER", "declined with 2") in events and ("JOINED", "conference") in events

        # A SIM whose network refuses hold: the caller is not put on hold again, and the status says why.
        script.refuse.add("hold")
        script.conference = False
        _to_legal(daemon, emulator, "+79165550102")
        wait_until(lambda: daemon.core.status()["lines"][0]["remote_refused"], 20, "the refusal to be noted")
        assert "refused to hold" in daemon.core.status()["lines"][0]["remote_refused"]
        assert emulator.count(f"ATD{VERA}") == 1 and emulator.count(f"ATD{GLEB}") == 1
        emulator.remote_hangup()
