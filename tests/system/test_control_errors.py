"""A control command's failure reaches the web page as what it is: a thing not found, or the daemon's own bug."""

from __future__ import annotations

import logging

import pytest

from appliance.service import control
from tests.support.web import csrf


@pytest.fixture
def ask(start_box, tmp_path):
    daemon, _ = start_box(data=tmp_path)
    return lambda command, **args: control.call(daemon.control_path, command, **args)


def test_a_key_error_inside_a_command_is_an_internal_error_in_the_log_not_a_thing_not_found(ask, caplog):
    # callback.done reads args["id"] without a check: the KeyError is the daemon's bug, not a missing callback.
    with caplog.at_level(logging.ERROR):
        reply = ask("callback.done", by="Anna")
    assert reply["ok"] is False and not reply.get("not_found")
    assert "internal error" in reply["error"]
    assert any(r.exc_info and r.exc_info[0] is KeyError and "callback.done" in r.getMessage() for r in caplog.records)


def test_what_is_really_not_there_is_still_not_found(ask):
    assert ask("callback.done", id=424242, by="Anna") == {"ok": False, "error": "no pending callback 424242",
                                                          "not_found": True}
    assert ask("handset.test_ring", handset="h9")["not_found"] is True
    assert ask("sim.hangup", line="nope") == {"ok": False, "error": "no simulated line 'nope'", "not_found": True}
    assert ask("sim.offhook", handset="h9") == {"ok": False, "error": "no handset 'h9'", "not_found": True}


@pytest.mark.parametrize("bug", [KeyError("line"), RuntimeError("the relay board vanished")])
def test_the_daemons_own_failure_reaches_the_web_as_a_server_error_not_a_bad_request(web_box, admin, bug):
    # A fault inside the daemon's command (its bug, or hardware gone) is not the user's bad input: HTTP 500,
    # with the plain words of the failure, never 400 (which tells a script to change its request).
    daemon, _ = web_box
    sound = daemon.commands["sim.onhook"]

    def broken(args: dict) -> dict:
        raise bug

    daemon.commands["sim.onhook"] = broken
    try:
        reply = admin.post("/api/sim/handsets/h1/onhook", json={}, headers={"X-CSRF-Token": csrf(admin)})
    finally:
        daemon.commands["sim.onhook"] = sound
    assert reply.status_code == 500, reply.json
    assert reply.json["error"].startswith("sim.onhook failed: ") and "Traceback" not in reply.json["error"]
    assert reply.json["words"]


def test_a_bad_request_is_still_a_bad_request(web_box, admin):
    reply = admin.post("/api/sim/dtmf", json={"digits": "x"}, headers={"X-CSRF-Token": csrf(admin)})
    assert reply.status_code == 400
