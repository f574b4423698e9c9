"""A dashboard poll whose answer this second is already made is sent before Flask builds a request (web/early.py):
the same status, headers and bytes as Flask sends, and nothing but the plainest poll with the box's API token
skips Flask: a wrong token, a foreign Host, a session cookie or another language still meet every check."""

from __future__ import annotations

import http.client
import json

import pytest

from appliance.service.control_server import ControlServer
from tests.support.web import PASSWORD, login, set_up
from tests.support.web_server import serving
from web import create_app, link

CALLER = "+79161234567"


def _daemon(item) -> None:  # the daemon's loop, answering at once
    if item.command == "config.get":
        item.reply.put({"ok": True, "document": {"schedule": {"timezone": "Europe/Moscow"}}, "override": None})
    elif item.command == "status":
        item.reply.put({"ok": True, "lines": [], "handsets": [], "queue": [], "operators": [],
                        "calls": [{"line": "gsm1", "caller": CALLER, "prompt": None}],
                        "schedule": {"open": True, "override": None}, "alarms": []})
    else:
        item.reply.put({"ok": True})


@pytest.fixture
def box(tmp_path, monkeypatch):
    """(the app, its port on a real waitress server, its API token, how many requests Flask's hooks saw)."""
    monkeypatch.setattr(link.time, "monotonic", lambda: 100.0)  # one second, however loaded the machine
    server = ControlServer(tmp_path / "control.sock", _daemon)
    app = create_app(tmp_path, control_path=tmp_path / "control.sock")
    seen: list[str] = []
    app.before_request(lambda: seen.append("flask") and None)
    set_up(app.test_client(), tmp_path)
    app.extensions["web_store"].add_user("olga", PASSWORD, "operator")
    seen.clear()
    try:
        with serving(app) as port:
            yield app, port, (tmp_path / "api-token").read_text().strip(), seen
    finally:
        server.close()


def _poll(port: int, headers: dict[str, str], path: str = "/api/dashboard") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        reply = conn.getresponse()
        body = reply.read()
        return reply.status, {k: v for k, v in reply.getheaders() if k.lower() not in ("date", "server")}, body
    finally:
        conn.close()


def test_a_poll_answered_this_second_is_sent_the_same_without_flask(box):
    _, port, token, seen = box
    first = _poll(port, {"Authorization": f"Bearer {token}"})
    assert first[0] == 200 and json.loads(first[2])["status"]["calls"][0]["caller"] == CALLER
    assert seen == ["flask"]
    for _ in range(5):
        assert _poll(port, {"Authorization": f"Bearer {token}"}) == first  # status, headers and bytes
    assert seen == ["flask"], "a poll whose answer was made this second went through Flask again"


def test_every_other_request_meets_flasks_checks(box):
    app, port, token, seen = box
    assert _poll(port, {"Authorization": f"Bearer {token}"})[0] == 200
    assert _poll(port, {"Authorization": "Bearer not-the-token"})[0] == 401
    assert _poll(port, {"Authorization": f"Bearer {token}x"})[0] == 401
    assert _poll(port, {"Authorization": f"Bearer {token}", "Host": "evil.example"})[0] == 400
    assert _poll(port, {"Authorization": f"Bearer {token}", "Accept-Language": "ru"})[0] == 200
    assert _poll(port, {"Authorization": f"Bearer {token}"}, "/api/dashboard?lang=ru")[0] == 200
    assert len(seen) == 3  # the first poll, and the two in Russian (the refused ones stop at Flask's own checks)
    operator = app.test_client()  # an operator's browser: a session cookie, the number masked for their role
    assert login(operator, "olga").status_code == 302
    assert operator.get("/api/dashboard").get_json()["status"]["calls"][0]["caller"] != CALLER
