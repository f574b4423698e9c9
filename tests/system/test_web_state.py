"""Visible, safe state on the admin pages: a forced open/closed is shown with who and until when and
outlasts a restart; times are the box's; every admin action is audited and confirmed."""

from __future__ import annotations

import html
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance import config as configuration
from appliance.sim.simulation import Simulation
from tests.support import backups, prompt_seed
from tests.support.boxes import simulated_box
from tests.support.status import loop_status
from tests.support.waiting import wait_until
from tests.support.web import PASSWORD, csrf, csrf_token, login, set_up
from web import create_app

ZONE = "Asia/Vladivostok"  # far from the test machine's UTC: a time in the wrong zone is 10 hours off


@contextmanager
def running(data: Path) -> Iterator:
    """The real daemon on `data`, its schedule in ZONE."""
    document = configuration.default_document()
    document.setdefault("schedule", {})["timezone"] = ZONE
    with simulated_box(data, document) as (daemon, _):
        yield daemon


def _admin(data: Path, control_path: Path):
    """The admin's client: set up on the first start, signed in on the next ones."""
    client = create_app(data, control_path=control_path).test_client()
    if client.get("/setup").status_code == 200:
        set_up(client, data)
    else:
        login(client)
    return client


def test_force_closed_is_shown_with_who_and_until_and_outlasts_a_restart(tmp_path):
    until = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=1)).replace(hour=18, minute=30, second=0, microsecond=0)
    with running(tmp_path) as daemon:
        admin = _admin(tmp_path, daemon.control_path)
        reply = admin.post("/config/schedule/override", follow_redirects=True,
                           data={"mode": "closed", "until": until.strftime("%Y-%m-%dT%H:%M"),
                                 "csrf_token": csrf(admin)})
        assert "The hotline is forced closed." in reply.text
        dashboard = admin.get("/").text
        assert "Forced closed" in dashboard and "by admin" in dashboard
        assert f"until {until:%Y-%m-%d %H:%M}" in dashboard  # the box's own clock time, not the server's UTC
        assert loop_status(daemon)["schedule"]["open"] is False
    with running(tmp_path) as daemon:  # a restart (a power cut, an update) keeps what the admin forced
        assert loop_status(daemon)["schedule"]["open"] is False
        admin = _admin(tmp_path, daemon.control_path)
        dashboard = admin.get("/").text
        assert "Forced closed" in dashboard and f"until {until:%Y-%m-%d %H:%M}" in dashboard
        audit = admin.get("/audit").text
        assert '<td data-action="schedule.override">' in audit
        reply = admin.post("/config/schedule/override", follow_redirects=True,
                           data={"mode": "follow", "csrf_token": csrf(admin)})
        assert "The hotline follows its hours again." in reply.text
        assert "Forced" not in admin.get("/").text
    with running(tmp_path) as daemon:
        assert loop_status(daemon)["schedule"]["override"] is None


def test_an_override_past_its_end_lapses_by_itself(tmp_path):
    with running(tmp_path) as daemon:
        admin = _admin(tmp_path, daemon.control_path)
        past = (datetime.now(ZoneInfo(ZONE)) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        reply = admin.post("/config/schedule/override", follow_redirects=True,
                           data={"mode": "closed", "until": past, "csrf_token": csrf(admin)})
        assert "must be in the future" in reply.text
        assert loop_status(daemon)["schedule"]["override"] is None


def test_users_page_confirms_deletion_and_demotion_says_what_it_did_and_refuses_unknown_handsets(tmp_path):
    with running(tmp_path) as daemon:
        admin = _admin(tmp_path, daemon.control_path)
        page = admin.get("/users").text
        add_form = page[page.index("<h2>"):]
        assert re.search(r'<option value="operator" selected>', add_form)  # least privilege by default
        reply = admin.post("/users", data={"username": "olga", "password": PASSWORD, "role": "supervisor",
                                           "lang": "en", "handset": "h99", "csrf_token": csrf(admin)})
        assert reply.status_code == 400 and "There is no handset h99" in reply.text
        store = admin.application.extensions["web_store"]
        assert store.user_by_name("olga") is None
        reply = admin.post("/users", follow_redirects=True, data={
            "username": "olga", "password": PASSWORD, "role": "supervisor", "lang": "en", "handset": "h1",
            "csrf_token": csrf(admin)})
        assert "User olga added." in reply.text and store.user_by_name("olga")["handset"] == "h1"
        olga = str(store.user_by_name("olga")["id"])
        # A lower role asks first and changes nothing until confirmed.
        fields = {"action": "update", "id": olga, "role": "operator", "lang": "en", "handset": "h1", "password": ""}
        asked = admin.post("/users", data={**fields, "csrf_token": csrf(admin)})
        assert asked.status_code == 200
        assert "Lower olga's role from supervisor to operator?" in html.unescape(asked.text)
        assert store.user_by_name("olga")["role"] == "supervisor"
        done = admin.post("/users", follow_redirects=True, data={**fields, "confirmed": "yes",
                                                                 "csrf_token": csrf_token(asked.text)})
        assert "User olga saved." in done.text and store.user_by_name("olga")["role"] == "operator"
        wrong = admin.post("/users", data={**fields, "handset": "h99", "csrf_token": csrf(admin)})
        assert wrong.status_code == 400 and store.user_by_name("olga")["handset"] == "h1"
        asked = admin.post("/users", data={"action": "delete", "id": olga, "csrf_token": csrf(admin)})
        assert "Delete the user olga" in asked.text and store.user_by_name("olga") is not None
        done = admin.post("/users", follow_redirects=True, data={"action": "delete", "id": olga, "confirmed": "yes",
                                                                 "csrf_token": csrf(admin)})
        assert "User olga deleted." in done.text and store.user_by_name("olga") is None


def test_revert_shows_what_it_will_undo_and_waits_for_a_yes(tmp_path):
    with running(tmp_path) as daemon:
        admin = _admin(tmp_path, daemon.control_path)
        form = admin.get("/config/flow").text
        admin.post("/config/flow", data={"csrf_token": csrf_token(form),
                                         "flow.nodes.menu.keys": "1=legal, 2=psychology, 3=message, 0=anyone, 4=legal"})
        assert daemon.core.flow["menu"].keys["4"] == "legal"
        first = admin.application.extensions["web_store"].revisions()[-1]["id"]
        asked = admin.post(f"/config/revisions/{first}/revert", data={"csrf_token": csrf(admin)})
        assert asked.status_code == 200 and f"Revert the config to revision {first}" in asked.text
        assert '-4 = "legal"' in html.unescape(asked.text)  # the diff says what goes away
        assert daemon.core.flow["menu"].keys["4"] == "legal"  # nothing changed yet
        admin.post(f"/config/revisions/{first}/revert", data={"csrf_token": csrf(admin), "confirmed": "yes"})
        assert "4" not in daemon.core.flow["menu"].keys


def test_logins_exports_backups_config_users_and_tokens_are_in_the_audit_log(tmp_path):
    with running(tmp_path) as daemon:
        admin = _admin(tmp_path, daemon.control_path)
        stranger = admin.application.test_client()
        stranger.post("/login", data={"username": "admin", "password": "wrong password",
                                      "csrf_token": csrf_token(stranger.get("/login").text)})
        _admin(tmp_path, daemon.control_path)  # a second, successful sign-in
        admin.get("/calls.csv?caller=%2B7999")
        blob = backups.download(admin)
        form = admin.get("/config/flow").text
        admin.post("/config/flow", data={"csrf_token": csrf_token(form),
                                         "flow.nodes.menu.keys": "1=legal, 2=psychology, 3=message, 0=anyone, 4=legal"})
        admin.post("/users", data={"username": "olga", "password": PASSWORD, "role": "operator", "lang": "en",
                                   "csrf_token": csrf(admin)})
        admin.post("/tokens", data={"client": "crm", "role": "operator", "csrf_token": csrf(admin)})
        admin.post("/tokens", data={"client": "crm", "action": "revoke", "csrf_token": csrf(admin)})
        admin.post("/backup/restore", data={"csrf_token": csrf(admin), "replace": "yes",
                                            "passphrase": backups.PASSPHRASE,
                                            "backup": (io.BytesIO(blob), "b.tar.gz")})
        log = admin.get("/audit").text
        for action in ("login.failed", "login", "export.csv", "backup.download", "config.save", "user.add",
                       "token.create", "token.revoke", "backup.restore"):
            assert f'<td data-action="{action}">{action}</td>' in log, action


def test_a_backup_is_sealed_holds_voicemail_recordings_uploads_and_the_privacy_key_and_restores_them(tmp_path):
    flac = b"fLaC" + bytes(60)
    with running(tmp_path) as daemon:
        admin = _admin(tmp_path, daemon.control_path)
        for folder, name in (("voicemail", "call-1.flac"), ("recordings", "call-2.flac")):
            (tmp_path / folder).mkdir(exist_ok=True)
            (tmp_path / folder / name).write_bytes(flac)
        (tmp_path / "uploads").mkdir(exist_ok=True)
        (tmp_path / "uploads" / "greeting.flac").write_bytes(flac)
        key = (tmp_path / "privacy.key").read_bytes()
        short = admin.post("/backup/download", data={"csrf_token": csrf(admin), "passphrase": "short",
                                                     "passphrase2": "short"})
        assert short.status_code == 400 and "at least 10 characters" in short.text
        blob = backups.download(admin, audio=True)
        assert key.strip() not in blob and b"SQLite format" not in blob and not blob.startswith(b"\x1f\x8b")
        for path in (tmp_path / "voicemail" / "call-1.flac", tmp_path / "recordings" / "call-2.flac",
                     tmp_path / "uploads" / "greeting.flac"):
            path.unlink()

        def restore(passphrase: str):
            return admin.post("/backup/restore", data={
                "csrf_token": csrf(admin), "replace": "yes", "passphrase": passphrase,
                "backup": (io.BytesIO(blob), "hotline-backup.sealed")}, follow_redirects=True)

        wrong = restore("not the passphrase")
        assert wrong.status_code == 400 and "Wrong passphrase: nothing was restored." in wrong.text
        assert not (tmp_path / "voicemail" / "call-1.flac").exists()
        assert not (tmp_path / "privacy.key.restore").exists() and not (tmp_path / "calls.db.restore").exists()
        done = restore(backups.PASSPHRASE)
        assert done.status_code == 200
        said = html.unescape(done.text)
        for what in ("1 voicemail message(s)", "1 call recording(s)", "1 prompt recording(s)", "the privacy key",
                     "the call log"):
            assert what in said, what
        assert (tmp_path / "voicemail" / "call-1.flac").read_bytes() == flac
        assert (tmp_path / "recordings" / "call-2.flac").read_bytes() == flac
        assert (tmp_path / "uploads" / "greeting.flac").read_bytes() == flac
        assert (tmp_path / "privacy.key.restore").read_bytes() == key
    with running(tmp_path):  # the restored key comes in with the restored call log, at the start
        assert (tmp_path / "privacy.key").read_bytes() == key
        assert not (tmp_path / "privacy.key.restore").exists()


def test_restart_now_asks_first_then_the_daemon_exits_for_the_service_manager_to_start_it_again(tmp_path):
    from appliance.cli.serve import RESTART, run_daemon

    document = configuration.default_document()
    simulation = Simulation(document)
    prompt_seed.seed(tmp_path)  # the run's prompts: 69 made anew kept the daemon's worker busy past the clicks
    daemon = simulation.daemon(configuration.parse(simulation.document), tmp_path)
    said: dict[str, str] = {}

    def admin_clicks() -> None:  # the browser's side, while the daemon runs in the main thread as `hotline run`
        wait_until(lambda: daemon.control is not None and daemon.control_path.exists(), 30, "the daemon to start")
        admin = _admin(tmp_path, daemon.control_path)
        said["asked"] = admin.post("/config/restart", data={"csrf_token": csrf(admin)}).text
        said["flag"] = str(daemon.restart_requested)
        said["done"] = admin.post("/config/restart", follow_redirects=True,
                                  data={"csrf_token": csrf(admin), "confirmed": "yes"}).text

    clicker = threading.Thread(target=admin_clicks, daemon=True)
    clicker.start()
    try:
        status = run_daemon(daemon)
    finally:
        simulation.close()
    clicker.join(10)
    assert "Restart the box now?" in said["asked"] and said["flag"] == "False"  # nothing before the yes
    assert "The box is restarting" in said["done"]
    assert status == RESTART != 0  # systemd's Restart=on-failure starts it again
