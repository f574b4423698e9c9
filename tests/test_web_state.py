"""Visible, safe state on the admin pages: a forced open/closed is shown with who and until when and
outlasts a restart; times are the box's; every admin action is audited and confirmed."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance import config as configuration
from appliance.simulation import Simulation
from web import create_app

PASSWORD = "correct horse"
ZONE = "Asia/Vladivostok"  # far from the test machine's UTC: a time in the wrong zone is 10 hours off


@contextmanager
def running(data: Path) -> Iterator:
    """A real daemon (modem emulator, mock pins, null audio) on `data`, its loop in a thread."""
    document = configuration.default_document()
    document.setdefault("schedule", {})["timezone"] = ZONE
    simulation = Simulation(document)
    daemon = simulation.daemon(configuration.parse(simulation.document), data)
    daemon.start()
    loop = threading.Thread(target=daemon.run, daemon=True)
    loop.start()
    try:
        yield daemon
    finally:
        daemon.stop()
        loop.join(10)
        simulation.close()


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _admin(data: Path, control_path: Path):
    app = create_app(data, control_path=control_path)
    client = app.test_client()
    setup = client.get("/setup")
    if setup.status_code == 200:
        client.post("/setup", data={"username": "admin", "password": PASSWORD, "password2": PASSWORD, "lang": "en",
                                    "csrf_token": _token(setup.text),
                                    "setup_code": (data / "setup-code").read_text().strip()})
    else:
        client.post("/login", data={"username": "admin", "password": PASSWORD,
                                    "csrf_token": _token(client.get("/login").text)})
    return client


def _csrf(client) -> str:
    return _token(client.get("/").text)


def test_force_closed_is_shown_with_who_and_until_and_outlasts_a_restart(tmp_path):
    until = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=1)).replace(hour=18, minute=30, second=0, microsecond=0)
    with running(tmp_path) as daemon:
        admin = _admin(tmp_path, daemon.control_path)
        reply = admin.post("/config/schedule/override", follow_redirects=True,
                           data={"mode": "closed", "until": until.strftime("%Y-%m-%dT%H:%M"),
                                 "csrf_token": _csrf(admin)})
        assert "The hotline is forced closed." in reply.text
        dashboard = admin.get("/").text
        assert "Forced closed" in dashboard and "by admin" in dashboard
        assert f"until {until:%Y-%m-%d %H:%M}" in dashboard  # the box's own clock time, not the server's UTC
        assert daemon.status()["schedule"]["open"] is False
    with running(tmp_path) as daemon:  # a restart (a power cut, an update) keeps what the admin forced
        assert daemon.status()["schedule"]["open"] is False
        admin = _admin(tmp_path, daemon.control_path)
        dashboard = admin.get("/").text
        assert "Forced closed" in dashboard and f"until {until:%Y-%m-%d %H:%M}" in dashboard
        audit = admin.get("/audit").text
        assert "schedule.override" in audit
        reply = admin.post("/config/schedule/override", follow_redirects=True,
                           data={"mode": "follow", "csrf_token": _csrf(admin)})
        assert "The hotline follows its hours again." in reply.text
        assert "Forced" not in admin.get("/").text
    with running(tmp_path) as daemon:
        assert daemon.status()["schedule"]["override"] is None


def test_an_override_past_its_end_lapses_by_itself(tmp_path):
    with running(tmp_path) as daemon:
        admin = _admin(tmp_path, daemon.control_path)
        past = (datetime.now(ZoneInfo(ZONE)) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        reply = admin.post("/config/schedule/override", follow_redirects=True,
                           data={"mode": "closed", "until": past, "csrf_token": _csrf(admin)})
        assert "until must be a moment in the future" in reply.text
        assert daemon.status()["schedule"]["override"] is None
