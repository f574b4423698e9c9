"""Erasing a caller the box is still busy with: a callback still waiting is withdrawn (no desk rings for
it, nobody dials the erased number), and a caller on a call now is refused with the reason, nothing erased."""

from __future__ import annotations

import sqlite3

import pytest

from appliance import config as configuration
from appliance.service import control
from tests.support.waiting import wait_until
from tests.support.web import csrf, set_up
from web import create_app

NUMBER = "+79165550123"
H1_RING, H1_HOOK = 17, 27


@pytest.fixture
def box(start_box, tmp_path):
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    daemon, simulation = start_box(document)

    def ask(command: str, **args):
        return control.call(daemon.control_path, command, **args)

    return daemon, simulation, ask, tmp_path / "data"


def _rows(data, sql: str) -> list:
    conn = sqlite3.connect(f"file:{data / 'calls.db'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_a_waiting_callback_to_an_erased_caller_is_withdrawn(box):
    daemon, simulation, ask, data = box
    pins = simulation.pin_factory
    assert ask("callback.request", number=NUMBER)["ok"]
    wait_until(lambda: pins.pin(H1_RING).state == 1, what="Anna's desk ringing for the callback")
    reply = ask("caller.erase", caller=NUMBER, actor="admin")
    assert reply["ok"] and reply["erased"]["callbacks"] == 1, reply
    wait_until(lambda: ask("status")["handsets"][0]["state"] == "idle", what="the desk to stop ringing for an erased "
                                                                          "caller")
    assert pins.pin(H1_RING).state == 0
    assert ask("status")["waiting"] == []
    pins.pin(H1_HOOK).drive_low()  # Anna lifts anyway: nobody is dialled
    wait_until(lambda: ask("status")["handsets"][0]["state"] == "off-hook", what="Anna off hook")
    assert ask("status")["calls"] == []
    assert not [c for c in simulation.emulators["gsm1"].received if NUMBER in c]
    assert _rows(data, "SELECT * FROM callbacks") == []


def test_a_caller_on_a_call_now_is_not_erased_until_it_ends(box):
    daemon, simulation, ask, data = box
    emulator = simulation.emulators["gsm1"]
    emulator.incoming_call(NUMBER)
    wait_until(lambda: ask("status")["calls"], what="the call in the flow")
    reply = ask("caller.erase", caller=NUMBER, actor="admin")
    assert reply["ok"] is False and "on a call now (line gsm1)" in reply["error"], reply
    app = create_app(data, control_path=daemon.control_path)  # the privacy page says so, in Russian
    admin = app.test_client()
    assert set_up(admin, data, lang="ru").status_code == 302
    admin.post("/privacy/erase", data={"caller": NUMBER, "confirm": NUMBER, "csrf_token": csrf(admin)})
    assert "Абонент сейчас разговаривает (линия" in admin.get("/privacy").text
    emulator.remote_hangup()
    wait_until(lambda: not ask("status")["calls"] and _rows(data, "SELECT ended_at FROM calls")[0][0],
               what="the call recorded")
    assert ask("caller.erase", caller=NUMBER, actor="admin")["erased"]["calls"] == 1
    assert _rows(data, "SELECT * FROM calls") == []
