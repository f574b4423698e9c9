""""Block this number" from a call's page, in pseudonym mode: nobody sees the number, the config keeps only
the caller's key, and the caller's next call is refused while others still get through (issue 16 item 2)."""

from __future__ import annotations

import sqlite3
import threading
import tomllib

import pytest

from appliance import config as configuration
from appliance.sim.simulation import Simulation
from tests.support.boxes import running_daemon
from tests.support.waiting import wait_until
from tests.support.web import PASSWORD, csrf, login

CALLER, OTHER = "+79161112233", "+79035556677"


@pytest.fixture(scope="module")
def simulation():
    document = configuration.default_document()
    document["privacy"] = {"numbers": "pseudonym"}
    simulation = Simulation(document)
    yield simulation
    simulation.close()


@pytest.fixture(scope="module")
def web_box(simulation, tmp_path_factory):
    data = tmp_path_factory.mktemp("box")
    with running_daemon(simulation, data) as daemon:
        yield daemon, data


def _ended(data, count: int) -> list[tuple]:
    with sqlite3.connect(f"file:{data / 'calls.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id, caller, outcome FROM calls WHERE ended_at IS NOT NULL "
                          "ORDER BY started_at").fetchall()
    return rows if len(rows) >= count else []


def _call(simulation, web_box, caller: str, count: int, hang_up: bool) -> tuple:
    daemon, data = web_box
    line = simulation.emulators["gsm1"]
    threading.Thread(target=line.incoming_call, args=(caller,), daemon=True).start()
    if hang_up:
        wait_until(lambda: daemon.core.line_calls.get("gsm1"), 10, "the call to be answered")
        line.remote_hangup()
    return wait_until(lambda: _ended(data, count), 15, f"call {count} to be recorded")[-1]


def test_a_caller_is_blocked_from_the_call_page_without_the_number_being_seen(web_app, admin, web_box, simulation):
    daemon, data = web_box
    call_id, stored, outcome = _call(simulation, web_box, CALLER, 1, hang_up=True)
    assert CALLER not in stored and outcome != "blocked"
    page = admin.get(f"/calls/{call_id}").text
    assert 'id="block-form"' in page and CALLER not in page
    form = {"csrf_token": csrf(admin), "days": "30", "back": f"/calls/{call_id}"}
    asked = admin.post(f"/calls/{call_id}/block", data=form)  # the first press only asks
    assert asked.status_code == 200 and "Block this caller for a month?" in asked.text
    assert not (data / "config.toml").exists() or "blocked" not in (data / "config.toml").read_text()
    reply = admin.post(f"/calls/{call_id}/block", data={**form, "confirmed": "yes"})
    assert reply.status_code == 302
    config_text = (data / "config.toml").read_text()
    assert CALLER not in config_text and "9161112233" not in config_text
    blocked = tomllib.loads(config_text)["callers"]["blocked"]
    assert len(blocked) == 1 and len(blocked[0]["key"]) == 32 and blocked[0]["until"]
    assert "The caller is blocked until" in admin.get(f"/calls/{call_id}").text
    # The same caller again: refused. Someone else: let in.
    assert _call(simulation, web_box, CALLER, 2, hang_up=False)[2] == "blocked"
    assert _call(simulation, web_box, OTHER, 3, hang_up=True)[2] != "blocked"


def test_blocking_an_unknown_call_changes_nothing(web_app, admin, web_box):
    before = len(web_app.extensions["web_store"].revisions())
    reply = admin.post("/calls/nosuchcall/block", data={"csrf_token": csrf(admin), "days": "7"})
    assert reply.status_code == 404
    assert len(web_app.extensions["web_store"].revisions()) == before


def test_an_operator_blocks_the_caller_on_the_line_from_the_console(web_app, admin, web_box, simulation):
    daemon, data = web_box
    admin.post("/users", data={"username": "olga", "password": PASSWORD, "role": "operator", "lang": "en",
                               "csrf_token": csrf(admin)})
    operator = web_app.test_client()
    login(operator, "olga")
    line = simulation.emulators["gsm1"]
    threading.Thread(target=line.incoming_call, args=("+79035550000",), daemon=True).start()
    call = wait_until(lambda: daemon.core.line_calls.get("gsm1"), 10, "the call")
    wait_until(lambda: daemon.core.line_calls["gsm1"].node == "language", 10, "the language choice")
    line.send_dtmf("11")  # English, legal: Anna's handset h1
    wait_until(lambda: daemon.handsets["h1"].is_ringing, 15, "h1 to ring")
    simulation.pin_factory.pin(27).drive_low()  # Anna lifts: h1's hook switch closes
    wait_until(lambda: daemon.core.line_calls.get("gsm1") and daemon.core.line_calls["gsm1"].connected_at, 10,
               "connected")
    console = operator.get("/console?handset=h1").text
    assert 'id="block-form"' in console and "+79035550000" not in console  # an operator sees it masked
    reply = operator.post(f"/calls/{call.id}/block", data={"csrf_token": csrf(operator), "days": "",
                                                            "back": "/console?handset=h1", "confirmed": "yes"})
    assert reply.status_code == 302 and reply.location.endswith("/console?handset=h1")
    blocked = tomllib.loads((data / "config.toml").read_text())["callers"]["blocked"]
    assert any("until" not in entry and entry["note"] == f"call {call.id}" for entry in blocked)
    line.remote_hangup()
    simulation.pin_factory.pin(27).drive_high()


def test_a_number_typed_into_the_blocklist_is_kept_only_as_its_key(web_app, admin, web_box, simulation):
    from tests.system.test_web_forms import submit

    daemon, data = web_box
    page = admin.get("/config/callers").text
    added = submit(admin, "/config/callers", page, ("action", "add"), new_name="+7 926 111-22-33")
    saved = submit(admin, "/config/callers", added.text)
    assert saved.status_code == 302, saved.text
    config_text = (data / "config.toml").read_text()
    assert "9261112233" not in config_text and "a number typed in by hand" in config_text
    assert daemon.core.callers.is_blocked("+79261112233", 0)
