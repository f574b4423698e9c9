"""Who may hand a caller on, and to where: an operator only the call on their own handset, supervisors any
connected call, and only to the numbers an admin allowed (issue 15, finding 7: call hijack and toll fraud)."""

from __future__ import annotations

import pytest

from appliance import config as configuration
from tests.support.boxes import simulated_box
from tests.support.waiting import wait_until
from tests.support.web import PASSWORD, csrf, login
from web import create_app


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    data = tmp_path_factory.mktemp("transfer")
    with simulated_box(data) as (daemon, simulation):
        app = create_app(data, control_path=daemon.control_path)
        clients = {}
        for name, role in (("Anna", "operator"), ("Boris", "operator"), ("Vera", "supervisor")):
            app.extensions["web_store"].add_user(name, PASSWORD, role)
            clients[name] = app.test_client()
            assert login(clients[name], name).status_code == 302
        yield daemon, simulation, clients


def _transfer(client, call_id: str, number: str) -> int:
    return client.post("/console/transfer", data={"csrf_token": csrf(client), "call_id": call_id,
                                                  "number": number}).status_code


def _live(daemon):
    return next((c for c in daemon.core.line_calls.values() if c is not None), None)


def test_a_call_in_the_menu_or_on_another_handset_or_to_an_unlisted_number_is_not_transferred(desk):
    daemon, simulation, clients = desk
    emulator, pins = simulation.emulators["gsm1"], simulation.pin_factory
    emulator.incoming_call("+79165550303")
    assert emulator.wait_for("ATA", timeout=10)
    emulator.send_dtmf("1")
    wait_until(lambda: _live(daemon) is not None and _live(daemon).node == "menu", 20, "the main menu")
    call_id = _live(daemon).id
    # Still in the menu: nobody may transfer it, not even a supervisor.
    assert _transfer(clients["Anna"], call_id, "+78001002030") == 403
    assert _transfer(clients["Vera"], call_id, "+78001002030") == 302
    emulator.send_dtmf("1")  # legal: Anna's handset h1
    wait_until(lambda: pins.pin(17).state == 1, what="h1 ringing")
    pins.pin(27).drive_low()
    wait_until(lambda: _live(daemon).connected_at is not None, what="Anna connected")
    assert _transfer(clients["Boris"], call_id, "+78001002030") == 403  # not on Boris's handset
    assert _transfer(clients["Anna"], call_id, "+79161234567") == 302  # a mobile number: toll fraud
    assert _transfer(clients["Vera"], call_id, "+4420794601") == 302
    call = _live(daemon)
    assert call.transfer_to is None and "TRANSFER" not in [e["event"] for e in call.events]
    assert emulator.count("AT+CHLD") == 0 and emulator.count("ATD") == 0
    # Anna hands her own caller on to a listed free service.
    assert _transfer(clients["Anna"], call_id, "+78001002030") == 302
    wait_until(lambda: emulator.count("ATD+78001002030") == 1, 10, "the transfer dialled")
    pins.pin(27).drive_high()


def test_the_allowed_targets_are_checked_in_the_config():
    document = configuration.default_document()
    document["transfer"] = {"allowed": ["+7800*", "8-800-100"]}
    with pytest.raises(configuration.ConfigError, match="transfer.allowed: '8-800-100' is not a number"):
        configuration.parse(document)
    document["transfer"] = {"allowed": ["+78001002030", "+7495*"]}
    records = configuration.parse(document).records
    assert records.may_transfer_to("+74951234567") and records.may_transfer_to("+78001002030")
    assert not records.may_transfer_to("+78001002031") and not records.may_transfer_to("+7916")
