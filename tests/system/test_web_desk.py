"""The web app's desk work against a real daemon: notes and tickets kept by the daemon, operators, voicemail,
callbacks, the emergency announcement, a caller's data, tokens and the audit log, and every string in Russian."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.support.waiting import wait_until
from tests.support.web import PASSWORD, api, api_status, csrf, login, routes
from web import i18n

CALLER = "+79165550101"


@pytest.fixture(scope="module")
def connected(web_app, web_box):
    """A caller on handset h2 (key 2, psychology), answered by Boris."""
    client = web_app.test_client()
    login(client)
    api(client, "/api/sim/call", {"caller": CALLER})
    wait_until(lambda: any(c["node"] == "menu" for c in api_status(client)["calls"]), 15, "the menu")
    api(client, "/api/sim/dtmf", {"digits": "2"})
    wait_until(lambda: any(h["id"] == "h2" and h["state"] == "ringing" for h in api_status(client)["handsets"]), 10,
             "h2 to ring")
    api(client, "/api/sim/handsets/h2/offhook")
    call = wait_until(lambda: next((c for c in api_status(client)["calls"] if c["state"] == "connected"), None), 10,
                    "the call to connect")
    return call


def _calls_db(web_box) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{web_box[1] / 'calls.db'}?mode=ro", uri=True)


def test_notes_types_and_tickets_are_kept_by_the_daemon_and_read_back(admin, web_box, connected):
    reply = admin.post(f"/calls/{connected['id']}/notes", data={
        "csrf_token": csrf(admin), "call_type": "data", "category": "family", "text": "Worried about her son.",
        "ticket": "Find a family lawyer", "back": "/console?handset=h2"})
    assert reply.status_code == 302
    with _calls_db(web_box) as db:
        assert db.execute("SELECT text, author FROM notes WHERE call_id = ?", [connected["id"]]).fetchall() == [
            ("Worried about her son.", "admin")]
        assert db.execute("SELECT call_type, category FROM calls WHERE id = ?", [connected["id"]]).fetchone() == (
            "data", "family")
        assert db.execute("SELECT title FROM tickets WHERE call_id = ?", [connected["id"]]).fetchone() == (
            "Find a family lawyer",)
    web_db = sqlite3.connect(web_box[1] / "web.db")
    assert not web_db.execute("SELECT 1 FROM sqlite_master WHERE name = 'notes'").fetchall()
    page = admin.get("/console?handset=h2").text
    assert "Worried about her son." in page and "Find a family lawyer" in page and CALLER in page
    # A note with nothing in it is refused and nothing is written.
    assert admin.post(f"/calls/{connected['id']}/notes", data={"csrf_token": csrf(admin)}).status_code == 400


def test_operators_page_pauses_logs_out_and_in(web_app, admin, web_box):
    daemon, _ = web_box
    page = admin.get("/operators").text
    assert re.search(r'data-operator="Anna".*?available', page, re.S)
    admin.post("/operators/Anna", data={"csrf_token": csrf(admin), "verb": "pause", "reason": "lunch"})
    anna = daemon.core.operators.get("Anna")
    assert anna.state.value == "paused" and anna.pause_reason == "lunch"
    assert "lunch" in admin.get("/operators").text
    admin.post("/operators/Anna", data={"csrf_token": csrf(admin), "verb": "unpause"})
    assert anna.state.value == "available"
    admin.post("/operators/Anna", data={"csrf_token": csrf(admin), "verb": "logout"})
    assert anna.state.value == "logged_out"
    admin.post("/operators/Anna", data={"csrf_token": csrf(admin), "verb": "login", "handset": "h1"})
    assert anna.state.value == "available" and anna.handset == "h1"
    bad = admin.post("/operators/Anna", data={"csrf_token": csrf(admin), "verb": "pause", "reason": ""})
    assert bad.status_code == 400 and anna.state.value == "available"


def test_an_operator_pauses_themself_but_nobody_else(web_app, admin, web_box):
    daemon, _ = web_box
    admin.post("/users", data={"username": "anna", "password": PASSWORD, "role": "operator", "lang": "en",
                               "csrf_token": csrf(admin)})
    anna = web_app.test_client()
    login(anna, "anna")
    assert 'id="me"' in anna.get("/console").text
    anna.post("/operators/Anna", data={"csrf_token": csrf(anna), "verb": "pause", "reason": "break"})
    assert daemon.core.operators.get("Anna").state.value == "paused"
    anna.post("/operators/Anna", data={"csrf_token": csrf(anna), "verb": "unpause"})
    assert anna.post("/operators/Boris", data={"csrf_token": csrf(anna), "verb": "logout"}).status_code == 403
    assert daemon.core.operators.get("Boris").state.value != "logged_out"
    assert anna.get("/operators").status_code == 403


def test_voicemail_plays_is_marked_listened_and_audited(admin, web_box, connected):
    daemon, data = web_box
    (data / "voicemail").mkdir(exist_ok=True)
    flac = data / "voicemail" / "test.flac"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", str(flac), "synth", "2.5", "sine", "440"], check=True)
    voicemail_id = daemon.store.voicemail_saved(connected["id"], "voicemail/test.flac", 2.5, CALLER, at=time.time())
    page = admin.get("/voicemail").text
    assert f'id="voicemail-{voicemail_id}"' in page
    audio = admin.get(f"/voicemail/{voicemail_id}.flac")
    assert audio.status_code == 200 and audio.mimetype == "audio/flac" and audio.data == flac.read_bytes()
    with _calls_db(web_box) as db:
        assert db.execute("SELECT listened_at FROM voicemails WHERE id = ?", [voicemail_id]).fetchone()[0]
    assert f"voicemail {voicemail_id}" in admin.get("/audit?actor=web:admin").text
    assert admin.get("/voicemail/999999.flac").status_code == 404


def test_a_voicemail_a_crash_cut_short_says_so_on_the_page(admin, web_box, connected):
    daemon, data = web_box
    assert daemon.store.audio_salvaged("voicemail", connected["id"], "voicemail/cut.flac", 1.5, at=time.time())
    row = admin.get("/voicemail").text.split('id="voicemail-')[1].split("</tr>")[0]
    assert "cut short" in row
    assert "cut short" in admin.get(f"/calls/{connected['id']}").text


def test_pending_callbacks_are_listed_and_marked_done(admin, web_box):
    daemon, _ = web_box
    daemon.store.callback_update("req-1", None, "+79160001122", "waiting", 1, "busy", at=time.time())
    page = admin.get("/callbacks").text
    assert "+79160001122" in page
    callback_id = int(re.search(r"/callbacks/(\d+)/done", page).group(1))
    admin.post(f"/callbacks/{callback_id}/done", data={"csrf_token": csrf(admin)})
    with _calls_db(web_box) as db:
        assert db.execute("SELECT status, done_by, number FROM callbacks WHERE id = ?", [callback_id]).fetchone() == (
            "done", "admin", None)
    assert "+79160001122" not in admin.get("/callbacks").text
    assert admin.post(f"/callbacks/{callback_id}/done", data={"csrf_token": csrf(admin)}).status_code == 404


def test_the_emergency_announcement_switches_on_and_off(admin, web_box):
    daemon, _ = web_box
    assert 'id="announcement"' in admin.get("/").text
    admin.post("/announcement", data={"csrf_token": csrf(admin), "prompt": "closed", "action": "on"})
    assert daemon.core.announcement == "closed"
    assert admin.get("/api/dashboard").json["status"]["announcement"] == "closed"
    admin.post("/announcement", data={"csrf_token": csrf(admin), "action": "off"})
    assert daemon.core.announcement is None
    admin.post("/announcement", data={"csrf_token": csrf(admin), "prompt": "no such prompt", "action": "on"})
    assert daemon.core.announcement is None


def test_records_search_stats_and_sms_use_the_store(admin, web_box, connected):
    daemon, _ = web_box
    assert connected["id"] in admin.get("/calls?q=worried").text
    assert connected["id"] not in admin.get("/calls?q=nothingsaid").text
    assert admin.get("/calls?from=yesterday").status_code == 400
    assert re.search(r"<dt>Total</dt><dd>[1-9]", admin.get("/stats").text)
    daemon.store.record_sms("gsm1", "in", CALLER, "Please call me back", at=time.time())
    assert "Please call me back" in admin.get("/sms?direction=in").text
    assert "Please call me back" not in admin.get("/sms?direction=out").text


def test_api_tokens_are_shown_once_and_revoked(admin):
    page = admin.post("/tokens", data={"csrf_token": csrf(admin), "client": "crm", "role": "operator"}).text
    token = re.search(r"<code>(hl_[^<]+)</code>", page).group(1)
    assert admin.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in admin.get("/tokens").text
    admin.post("/tokens", data={"csrf_token": csrf(admin), "client": "crm", "action": "revoke"})
    assert admin.get("/api/v1/calls", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "token.revoke" in admin.get("/audit").text


def test_a_caller_is_exported_and_erased_only_when_confirmed(admin, web_box, connected):
    api(admin, "/api/sim/hangup")
    wait_until(lambda: not api_status(admin)["calls"], 10, "the call to end")
    api(admin, "/api/sim/handsets/h2/onhook")
    assert connected["id"] in admin.get(f"/calls?caller={CALLER.replace('+', '%2B')}").text
    export = admin.post("/privacy/export", data={"csrf_token": csrf(admin), "caller": CALLER})
    assert export.mimetype == "application/json" and "attachment" in export.headers["Content-Disposition"]
    assert connected["id"] in [c["id"] for c in export.json["calls"]]
    admin.post("/privacy/erase", data={"csrf_token": csrf(admin), "caller": CALLER, "confirm": "+7916"})
    with _calls_db(web_box) as db:
        assert db.execute("SELECT COUNT(*) FROM calls WHERE id = ?", [connected["id"]]).fetchone()[0] == 1
    admin.post("/privacy/erase", data={"csrf_token": csrf(admin), "caller": CALLER, "confirm": CALLER})
    with _calls_db(web_box) as db:
        assert db.execute("SELECT COUNT(*) FROM calls WHERE id = ?", [connected["id"]]).fetchone()[0] == 0
    assert "caller.erase" in admin.get("/audit").text


def test_every_post_needs_the_csrf_token(web_app, admin):
    for rule, method in routes(web_app):
        if method != "POST" or rule.endpoint in ("auth.login", "auth.setup") or rule.rule.startswith("/api/v1"):
            continue
        url = rule.rule.replace("<int:", "<").replace("<", "").replace(">", "")
        url = re.sub(r"callback_id|voicemail_id|ticket_id|revision_id", "1", url)
        reply = admin.post(url, data={"verb": "pause", "reason": "x", "caller": "+7916", "confirm": "+7916"})
        assert reply.status_code == 403, f"POST {rule}: {reply.status_code}"


def test_every_string_on_the_pages_is_in_russian():
    # Found as `pybabel extract -F babel.cfg` finds them (adjacent literals joined, templates parsed).
    root = Path(i18n.__file__).parent.parent
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
    texts = {message for _file, _line, message, _comments, _context in
             extract_from_dir(root, method_map, keywords={"_": None}) if isinstance(message, str)}
    assert len(texts) > 250  # the extraction works (it found the pages' strings)
    with (i18n.TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        russian = {message.id: message.string for message in read_po(po) if message.id and not message.fuzzy}
    missing = sorted(t for t in texts if not russian.get(t))
    assert not missing, f"add these to web/translations/ru/LC_MESSAGES/messages.po: {missing}"


def test_an_empty_value_reads_empty_in_russian(web_app):
    # gettext("") is the catalogue's header: a call with no outcome yet must not show it.
    with web_app.test_request_context("/?lang=ru"):
        assert i18n.translate("") == ""
        assert i18n.translate("Dashboard") == "Обзор"


def test_the_console_hands_a_caller_over_to_a_competent_service(web_app, admin, web_box):
    client = web_app.test_client()
    login(client)
    wait_until(lambda: not api_status(client)["calls"], 20, "the line to be free")
    api(client, "/api/sim/call", {"caller": "+79165550202"})
    # answered, not only shown: a key the caller presses while it still rings reaches no menu
    wait_until(lambda: any(c["state"] == "in menu" for c in api_status(client)["calls"]), 15, "the call answered")
    api(client, "/api/sim/dtmf", {"digits": "11"})  # English, legal: Anna's handset
    wait_until(lambda: any(h["id"] == "h1" and h["state"] == "ringing" for h in api_status(client)["handsets"]), 15,
               "h1 to ring")
    api(client, "/api/sim/handsets/h1/offhook")
    call = wait_until(lambda: next((c for c in api_status(client)["calls"] if c["state"] == "connected"), None), 10,
                      "the connection")
    assert admin.post("/console/transfer", data={"csrf_token": csrf(admin), "call_id": call["id"],
                                                 "number": "not a number"}).status_code == 400
    reply = admin.post("/console/transfer", data={"csrf_token": csrf(admin), "call_id": call["id"],
                                                  "number": "+78001002030", "back": "/console?handset=h1"})
    assert reply.status_code == 302

    def outcome():
        with _calls_db(web_box) as db:
            row = db.execute("SELECT outcome, ended_by FROM calls WHERE id = ?", [call["id"]]).fetchone()
        return row if row and row[0] else None

    assert wait_until(outcome, 15, "the transfer to finish the call") == ("transferred", "operator")
    api(client, "/api/sim/handsets/h1/onhook")
