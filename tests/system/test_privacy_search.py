"""Privacy by construction: a caller's number is searched for everywhere the box could have put it.

A real daemon on simulated hardware takes a call (answered by an operator) and an SMS from one
number in each privacy mode; then every file under the data directory (databases read through
SQLite and as raw bytes from another process, so no lock of the live database is touched), every
webhook body a real HTTP receiver got, every log line, and every page and API answer for every role
are searched for the caller's digits.
"""

from __future__ import annotations

import io
import re
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest

from appliance import config as configuration
from appliance.records.privacy import Privacy
from appliance.records.store.access import AccessStore
from tests.support import backups
from tests.support.boxes import simulated_box
from tests.support.receiver import SECRET, Receiver
from tests.support.status import loop_status
from tests.support.waiting import wait_until
from tests.support.web import PASSWORD, csrf, login
from web import create_app

NUMBER = "+79165550199"
# The national digits, however they are written (+7 (916) 555-01-99 included); the mask keeps only "01-99".
DIGITS = re.compile("[ ()\\-.]?".join("9165550199").encode())
ROLES = ("admin", "supervisor", "operator")
DUTY_PHONE = "+79990000001"  # the supervisor on duty, texted when a caller gives up
PAGES = ("/", "/api/status", "/api/dashboard", "/console?handset=h1", "/api/calls", "/calls", "/calls.csv")


def _document(mode: str, receiver: Receiver) -> dict:
    document = configuration.default_document()
    document["privacy"] = {"numbers": mode}
    document["alerts"] = [{"event": "abandoned", "recipients": [DUTY_PHONE], "channel": "sms"}]
    document["webhooks"] = [{"url": receiver.url, "secret": SECRET, "allow_http": True, "allow_private": True}]
    return document


def _clients(app, data: Path) -> dict[str, object]:
    """A logged-in web client per role, and a records-API token per role."""
    users = app.extensions["web_store"]
    answers = {}
    for role in ROLES:
        users.add_user("Anna" if role == "operator" else role, PASSWORD, role)
        client = app.test_client()
        assert login(client, "Anna" if role == "operator" else role).status_code == 302
        answers[role] = client
    access = AccessStore(data / "access.db")
    tokens = {role: access.create_token(f"crm-{role}", role=role, now=1.0) for role in ROLES}
    access.close()
    return answers, tokens


def _read(clients, tokens, call_id: str | None) -> dict[tuple[str, str], bytes]:
    seen = {}
    for role, client in clients.items():
        for page in (*PAGES, *([f"/calls/{call_id}"] if call_id else [])):
            reply = client.get(page)
            assert reply.status_code in (200, 403), (role, page, reply.status_code)  # 403: not for this role
            seen[(role, page)] = reply.data
        for path in ("/api/v1/calls", "/api/v1/export.csv", *([f"/api/v1/calls/{call_id}"] if call_id else [])):
            reply = client.get(path, headers={"Authorization": f"Bearer {tokens[role]}"})
            assert reply.status_code == 200, (role, path, reply.status_code)
            seen[(f"token:{role}", path)] = reply.data
    with tarfile.open(fileobj=io.BytesIO(backups.opened(backups.download(clients["admin"], audio=True)))) as archive:
        for member in archive.getmembers():
            if member.isfile():
                seen[("admin", f"/backup/download: {member.name}")] = archive.extractfile(member).read()
    return seen


def _sms_count(data: Path) -> int:
    conn = sqlite3.connect(f"file:{data / 'calls.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM sms").fetchone()[0]
    finally:
        conn.close()


def _files(data: Path) -> dict[str, bytes]:
    """Every file's bytes, read by `cat` (a read in this process would drop the daemon's SQLite locks)."""
    found = {}
    for path in sorted(p for p in data.rglob("*") if p.is_file() and not p.is_socket()):
        found[str(path.relative_to(data))] = subprocess.run(["cat", str(path)], capture_output=True,
                                                            check=True).stdout
        if path.suffix == ".db":
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                found[f"{path.name} (rows)"] = "\n".join(conn.iterdump()).encode()
            finally:
                conn.close()
    return found


def _hits(places: dict) -> list:
    return sorted(str(place) for place, text in places.items() if DIGITS.search(text))


def _naming(places: dict, names: list[bytes]) -> list:
    """Places holding the digits or any other name of the caller (masked form, pseudonym, key)."""
    return sorted(str(place) for place, text in places.items()
                  if DIGITS.search(text) or any(name in text for name in names))


def _alerts(data: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(f"file:{data / 'calls.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT event, state, body FROM alerts").fetchall()
    finally:
        conn.close()


def _give_up_waiting(daemon, emulator, pins) -> None:
    """The caller rings again, chooses, and hangs up while Anna's handset rings: an abandoned call, texted."""
    emulator.incoming_call(NUMBER)
    wait_until(lambda: loop_status(daemon)["calls"] and loop_status(daemon)["calls"][0]["node"] not in (None, "menu"),
               timeout=20, what="the second call answered")
    emulator.send_dtmf("1")
    wait_until(lambda: loop_status(daemon)["calls"] and loop_status(daemon)["calls"][0]["node"] == "menu",
               timeout=20, what="the main menu again")
    emulator.send_dtmf("1")
    wait_until(lambda: pins.pin(17).state == 1, timeout=20, what="h1 ringing again")
    emulator.remote_hangup()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["full", "masked", "pseudonym"])
def test_the_callers_digits_appear_only_where_the_mode_and_the_role_allow(tmp_path, caplog, mode):
    caplog.set_level("DEBUG")
    data = tmp_path / "data"
    receiver = Receiver()
    try:
        with simulated_box(data, _document(mode, receiver)) as (daemon, simulation):
            app = create_app(data, control_path=daemon.control_path)
            clients, tokens = _clients(app, data)
            emulator, pins = simulation.emulators["gsm1"], simulation.pin_factory
            emulator.incoming_call(NUMBER)
            assert emulator.wait_for("ATA", timeout=10)
            emulator.send_dtmf("1")  # English
            wait_until(lambda: loop_status(daemon)["calls"] and loop_status(daemon)["calls"][0]["node"] == "menu",
                       timeout=20, what="the main menu")
            emulator.send_dtmf("1")  # legal: Anna's handset h1 rings
            wait_until(lambda: pins.pin(17).state == 1, what="h1 ringing")
            pins.pin(27).drive_low()
            wait_until(lambda: loop_status(daemon)["calls"][0]["state"] == "connected", what="Anna connected")
            call_id = loop_status(daemon)["calls"][0]["id"]
            live = _read(clients, tokens, None)
            emulator.remote_hangup()
            pins.pin(27).drive_high()
            wait_until(lambda: not loop_status(daemon)["calls"], what="the call ended")
            emulator.deliver_sms(NUMBER, "Please call me back")
            wait_until(lambda: _sms_count(data) == 1, what="the SMS kept")
            bodies = [receiver.received.get(timeout=15)[2] for _ in range(3)]  # started, answered, ended
            after = _read(clients, tokens, call_id)
            answers = {**{("live", *k): v for k, v in live.items()}, **after}
            logs = {(r.name, i): r.getMessage().encode() for i, r in enumerate(caplog.records)}
            files = _files(data)

            # The caller asks to be forgotten, after giving up once more (texted to the duty phone) and after
            # a supervisor looked them up in the records API by the number as people write it.
            _give_up_waiting(daemon, emulator, pins)
            wait_until(lambda: ("abandoned", "sent") in {a[:2] for a in _alerts(data)}, timeout=20,
                       what="the abandoned call texted")
            shown = {"full": NUMBER.encode(), "masked": b"+7 *** ***-01-99"}.get(mode, b"~")
            assert any(shown in a[2].encode() for a in _alerts(data)), "the alert names the caller as the mode does"
            for typed in ("%2B7+%28916%29+555-01-99", "%2B79165550199"):
                looked_up = clients["supervisor"].get(f"/api/v1/calls?caller={typed}",
                                                      headers={"Authorization": f"Bearer {tokens['supervisor']}"})
                assert looked_up.status_code == 200
                assert (NUMBER in looked_up.text) == (mode == "full")  # found, and shown as the mode keeps it
            searched = {k: v for k, v in _files(data).items() if k.startswith("access.db")}
            assert _hits(searched) == [], f"{mode}: the audit log keeps the number a supervisor searched for"
            wait_until(lambda: not loop_status(daemon)["calls"], what="the second call ended")
            reply = clients["admin"].post("/privacy/erase", data={"caller": NUMBER, "confirm": NUMBER,
                                                                   "csrf_token": csrf(clients["admin"])})
            assert reply.status_code == 302 and "Erased: calls 2" in clients["admin"].get("/privacy").text
            key = Privacy.for_data_dir(data).key(NUMBER)
            names = [b"***-01-99", f"~{key[:12]}".encode(), key.encode()]
            erased_answers = _read(clients, tokens, None)
            erased_files = _files(data)  # while the box runs: what a card taken now would hold
    finally:
        receiver.close()

    assert _naming(erased_files, names) == [], f"{mode}: a file still names the erased caller"
    assert _naming(erased_answers, names) == [], f"{mode}: a page still names the erased caller"

    assert b"call.ended" in b"".join(bodies)
    assert _hits(logs) == [], "a log line holds the number"
    assert [k for k in _hits(answers) if "operator" in k] == [], "an operator was shown the number"
    if mode == "full":
        # The search finds the number where it is kept, so finding it nowhere else means something.
        assert "calls.db (rows)" in _hits(files)
        assert any(f"/api/v1/calls/{call_id}" in k for k in _hits(answers))
        assert DIGITS.search(b"".join(bodies))
    else:
        assert _hits(files) == [], f"{mode}: a file under the data directory holds the number"
        assert _hits(answers) == [], f"{mode}: a page or API answer holds the number"
        assert not DIGITS.search(b"".join(bodies)), f"{mode}: a webhook body holds the number"
        shown = b"+7 *** ***-01-99" if mode == "masked" else b"~"
        assert shown in after[("admin", f"/calls/{call_id}")]
