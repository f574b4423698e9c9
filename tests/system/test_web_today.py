"""The dashboard's "Today" is the box's day: with the box's [schedule] timezone far from the server's (a Pi
often runs in UTC), a call made just after the box's midnight counts and one just before it does not.

A real daemon on simulated hardware, the web app on a real HTTP server, asked as the dashboard's poll asks."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from appliance import config as configuration
from tests.support.web_server import serving
from web import create_app

HOUR = 3600.0


def _far_zone() -> ZoneInfo:
    """A zone whose midnight is hours away from the server's and more than an hour away from now, so the two
    calls below fall on either side of it, and neither on the server's day boundary nor in the future."""
    server_midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    now = datetime.now().timestamp()
    for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kamchatka", "America/Anchorage"):
        zone = ZoneInfo(name)
        midnight = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        if abs(midnight - server_midnight) % (24 * HOUR) > 2 * HOUR and now - midnight > HOUR:
            return zone
    raise AssertionError("no zone far enough from the server's")


@pytest.fixture
def box(start_box, tmp_path):
    zone = _far_zone()
    document = configuration.default_document()
    document["schedule"]["timezone"] = zone.key
    daemon, _ = start_box(document, tmp_path)
    return daemon, tmp_path, zone


def test_today_counts_from_the_boxs_midnight_not_the_servers(box):
    daemon, data, zone = box
    midnight = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    daemon.store.call_started("before-midnight", "gsm1", "+79160000001", (midnight - timedelta(minutes=1)).timestamp())
    daemon.store.call_started("after-midnight", "gsm1", "+79160000002", (midnight + timedelta(minutes=1)).timestamp())
    app = create_app(data, control_path=daemon.control_path)
    token = (data / "api-token").read_text().strip()
    with serving(app) as port:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/dashboard",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            today = json.loads(reply.read())["today"]
    assert today["total"] == 1, f"{zone.key}: the box's today holds the call after its midnight only: {today}"
