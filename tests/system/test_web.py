"""The web app against a real daemon on simulated hardware: access rules, config revisions, prompts, backup."""

from __future__ import annotations

import io
import json
import re
import tarfile
import tomllib
import wave

from tests.support import backups
from tests.support.waiting import wait_until
from tests.support.web import PASSWORD, csrf, csrf_token, login, routes
from web import create_app


def _sample_url(rule) -> str:
    return rule.rule.replace("<int:", "<").replace("<path:", "<").replace("<", "").replace(">", "")


def test_first_boot_has_no_default_password_only_a_setup_page(tmp_path):
    client = create_app(tmp_path).test_client()
    assert client.get("/").headers["Location"].endswith("/setup")
    assert client.get("/login").headers["Location"].endswith("/setup")
    token = csrf_token(client.get("/setup").text)
    code = (tmp_path / "setup-code").read_text().strip()
    bad = client.post("/setup", data={"username": "root", "password": "short", "password2": "short",
                                      "csrf_token": token, "setup_code": code})
    assert bad.status_code == 400 and "at least 8" in bad.text
    client.post("/setup", data={"username": "root", "password": PASSWORD, "password2": PASSWORD,
                                "lang": "en", "csrf_token": token, "setup_code": code})
    assert client.get("/").status_code == 200
    # Once set up, the setup page is no way in for anyone else.
    other = create_app(tmp_path).test_client()
    assert other.get("/setup").headers["Location"].endswith("/login")
    stored = (tmp_path / "web.db").read_bytes()
    assert PASSWORD.encode() not in stored


def test_every_page_but_setup_and_login_refuses_strangers(web_app):
    client = web_app.test_client()
    for rule, method in routes(web_app):
        reply = client.open(_sample_url(rule), method=method)
        if rule.endpoint in ("auth.setup", "auth.login") and method == "GET":
            assert reply.status_code in (200, 302), rule
            continue
        assert reply.status_code in (302, 401, 403), f"{method} {rule}: {reply.status_code}"
        if reply.status_code == 302:
            assert "/login" in reply.headers["Location"], rule


def test_operators_do_not_reach_admin_pages(web_app, admin):
    token = csrf(admin)
    admin.post("/users", data={"username": "olga", "password": PASSWORD, "role": "operator", "lang": "ru",
                               "csrf_token": token})
    operator = web_app.test_client()
    login(operator, "olga")
    assert operator.get("/console").status_code == 200
    assert "Пульт оператора" in operator.get("/console").text  # her language, not the admin's
    for path in ("/config/flow", "/users", "/backup", "/calls", "/config/toml"):
        assert operator.get(path).status_code == 403, path


def test_state_changes_need_the_csrf_token(web_app, admin):
    before = len(web_app.extensions["web_store"].users())
    reply = admin.post("/users", data={"username": "mallory", "password": PASSWORD, "role": "admin"})
    assert reply.status_code == 403
    assert len(web_app.extensions["web_store"].users()) == before
    assert admin.post("/api/sim/hangup", json={}).status_code == 403
    # The same session with the header gets through to the daemon (no call to hang up: a clean refusal).
    reply = admin.post("/api/sim/handsets/nobody/offhook", json={}, headers={"X-CSRF-Token": csrf(admin)})
    assert reply.status_code == 404 and "nobody" in reply.json["error"]


def test_the_api_takes_the_token_from_the_data_dir(web_app, web_box):
    _, data = web_box
    client = web_app.test_client()
    token = (data / "api-token").read_text().strip()
    assert client.get("/api/status").status_code == 401
    assert client.get("/api/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
    reply = client.get("/api/status", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200 and reply.json["lines"][0]["id"] == "gsm1"


def test_repeated_failed_logins_lock_the_pair_out(web_app):
    client = web_app.test_client()
    for _ in range(5):
        assert login(client, "admin", "wrong password").status_code == 401
    locked = login(client, "admin", PASSWORD)
    assert locked.status_code == 429 and "try again" in locked.text
    web_app.extensions["signin_limiter"].reset()


def test_headers_and_cookie_flags(web_app):
    client = web_app.test_client()
    reply = client.get("/login")
    assert "script-src 'self'" in reply.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in reply.headers["Content-Security-Policy"]
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"]
    reply = login(client)
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "<script>" not in client.get("/").text  # scripts only from files the CSP allows


def test_a_bad_value_is_shown_at_its_field_and_nothing_changes(web_app, admin, web_box):
    daemon, _ = web_box
    form = admin.get("/config/flow").text
    revisions = len(web_app.extensions["web_store"].revisions())
    data = {"csrf_token": csrf_token(form), "flow.nodes.menu.timeout": "soon",
            "flow.nodes.menu.keys": "1=legal, 9=nowhere"}
    reply = admin.post("/config/flow", data=data)
    assert reply.status_code == 400
    assert re.search(r'data-field="flow.nodes.menu.keys.9"[^>]*>[^<]*missing node', reply.text)
    assert 'data-field="flow.nodes.menu.timeout"' in reply.text
    assert len(web_app.extensions["web_store"].revisions()) == revisions
    assert "9" not in daemon.core.flow["menu"].keys


def test_a_saved_flow_is_applied_kept_with_its_diff_and_revertible(web_app, admin, web_box):
    daemon, data = web_box
    form = admin.get("/config/flow").text
    keys = "1=legal, 2=psychology, 3=message, 0=anyone, 4=legal"
    reply = admin.post("/config/flow", data={"csrf_token": csrf_token(form), "flow.nodes.menu.keys": keys})
    assert reply.status_code == 302
    assert daemon.core.flow["menu"].keys["4"] == "legal"
    latest = web_app.extensions["web_store"].latest_revision()
    added = [line for line in latest["diff"].splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == ['+4 = "legal"']
    assert tomllib.loads((data / "config.toml").read_text())["flow"]["nodes"]["menu"]["keys"]["4"] == "legal"
    previous = web_app.extensions["web_store"].revisions()[1]
    admin.post(f"/config/revisions/{previous['id']}/revert", data={"csrf_token": csrf(admin), "confirmed": "yes"})
    assert "4" not in daemon.core.flow["menu"].keys


def test_prompt_text_change_is_spoken_and_playable(admin, web_box):
    daemon, _ = web_box
    form = admin.get("/config/prompts").text
    before = daemon.prompts["closed"]
    reply = admin.post("/config/prompts", data={"csrf_token": csrf_token(form),
                                                "prompts.closed.text": "We are closed today. Goodbye."})
    assert reply.status_code == 302
    assert daemon.prompts["closed"] != before
    wav = admin.get("/config/prompts/closed.wav")
    assert wav.status_code == 200 and wav.mimetype == "audio/wav"
    with wave.open(io.BytesIO(wav.data)) as sound:
        assert sound.getframerate() == 8000 and sound.getnchannels() == 1
        assert sound.readframes(sound.getnframes()) == daemon.prompts["closed"].read_bytes()


def test_test_ring_rings_an_idle_handset(admin, web_box):
    daemon, _ = web_box
    reply = admin.post("/config/handsets/h1/test-ring", data={"csrf_token": csrf(admin)})
    assert reply.status_code == 302
    assert daemon.handsets["h1"].is_ringing
    assert "ringing for 3 s" in admin.get("/config/handsets").text
    wait_until(lambda: not daemon.handsets["h1"].is_ringing, 10, "the test ring to stop by itself")


def test_backup_round_trip_and_a_newer_backup_is_refused(web_app, admin):
    blob = backups.opened(backups.download(admin))
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert {"manifest.json", "config.toml", "web.db", "calls.db"} <= set(names)
    newer = io.BytesIO()
    with tarfile.open(fileobj=newer, mode="w:gz") as tar:
        data = json.dumps(dict(manifest, calls_schema=manifest["calls_schema"] + 1)).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    users = web_app.extensions["web_store"].users()
    reply = admin.post("/backup/restore", data={"csrf_token": csrf(admin), "replace": "yes",
                                                "backup": (io.BytesIO(newer.getvalue()), "b.tar.gz")})
    assert reply.status_code == 400 and "newer hotline software" in reply.text
    assert web_app.extensions["web_store"].users() == users
    reply = admin.post("/backup/restore", data={"csrf_token": csrf(admin), "replace": "yes",
                                                "backup": (io.BytesIO(blob), "b.tar.gz")})
    assert reply.status_code == 302
    assert "Restored: the config; users, config revisions and notes" in admin.get("/backup").text
