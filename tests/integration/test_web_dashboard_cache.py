"""Many open dashboards share one answer a second, yet each viewer sees the callers as their role may, and a
change made from the page shows on the next poll (the web app over real HTTP, a control socket for the daemon)."""

from __future__ import annotations

import http.client
import json
import threading

from appliance.service.control_server import ControlServer
from tests.support.web import PASSWORD, login, set_up
from tests.support.web_server import serving
from web import create_app, link

CALLER = "+79161234567"


def test_dashboards_share_one_answer_a_second_but_each_role_sees_its_own_and_a_change_shows_at_once(tmp_path,
                                                                                                    monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(link.time, "monotonic", lambda: 100.0)  # one second, however loaded the machine

    def daemon(item) -> None:  # the daemon's loop, answering at once
        asked.append(item.command)
        if item.command == "config.get":
            item.reply.put({"ok": True, "document": {"schedule": {"timezone": "Europe/Moscow"}}, "override": None})
        elif item.command == "status":
            item.reply.put({"ok": True, "lines": [], "handsets": [], "queue": [], "operators": [],
                            "calls": [{"line": "gsm1", "caller": CALLER, "prompt": None}],
                            "schedule": {"open": True, "override": None}, "alarms": [],
                            "asked": asked.count("status")})
        else:
            item.reply.put({"ok": True})

    server = ControlServer(tmp_path / "control.sock", daemon)
    app = create_app(tmp_path, control_path=tmp_path / "control.sock")
    set_up(app.test_client(), tmp_path)
    app.extensions["web_store"].add_user("olga", PASSWORD, "operator")
    token = (tmp_path / "api-token").read_text().strip()
    try:
        with serving(app) as port:
            def dashboard() -> dict:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/api/dashboard", headers={"Authorization": f"Bearer {token}"})
                answer = conn.getresponse()
                assert answer.status == 200
                return json.loads(answer.read())

            replies: list[dict] = []
            clients = [threading.Thread(target=lambda: replies.append(dashboard())) for _ in range(20)]
            for client in clients:
                client.start()
            for client in clients:
                client.join(60)
            assert len(replies) == 20 and {r["status"]["asked"] for r in replies} == {1}
            assert replies[0]["status"]["calls"][0]["caller"] == CALLER  # the box's own token sees numbers

            operator = app.test_client()  # signed in as an operator, in the same second: the number is masked
            assert login(operator, "olga").status_code == 302
            seen = operator.get("/api/dashboard").get_json()["status"]["calls"][0]["caller"]
            assert seen != CALLER and CALLER[-4:] not in (seen or "")

            with app.app_context():  # the page asks the daemon to change something: the next poll is fresh
                link.ask("schedule.override", mode="open")
            assert dashboard()["status"]["asked"] == 2
            # reading the config (every page that shows a time does) changes nothing: the status is not asked again
            with app.app_context():
                link.ask("config.get")
            assert dashboard()["status"]["asked"] == 2 and asked.count("status") == 2
    finally:
        server.close()


def test_while_one_request_makes_the_next_answer_the_other_dashboards_get_the_last_one_at_once(tmp_path,
                                                                                               monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(link.time, "monotonic", lambda: clock[0])
    slow, second, asked = threading.Event(), threading.Event(), []

    def daemon(item) -> None:  # the daemon's loop; its second status takes until the test lets it go
        if item.command == "status":
            asked.append(item.command)
            if len(asked) == 2:
                second.set()
                slow.wait(30)
            item.reply.put({"ok": True, "lines": [], "handsets": [], "queue": [], "operators": [], "calls": [],
                            "schedule": {"open": True, "override": None}, "alarms": [], "asked": len(asked)})
        elif item.command == "config.get":
            item.reply.put({"ok": True, "document": {}, "override": None})
        else:
            item.reply.put({"ok": True})

    server = ControlServer(tmp_path / "control.sock", daemon)
    app = create_app(tmp_path, control_path=tmp_path / "control.sock")
    token = (tmp_path / "api-token").read_text().strip()
    try:
        with serving(app) as port:
            def dashboard() -> int:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("GET", "/api/dashboard", headers={"Authorization": f"Bearer {token}"})
                return json.loads(conn.getresponse().read())["status"]["asked"]

            assert dashboard() == 1
            clock[0] += 1.5  # the next second: the first dashboard to ask makes the next answer
            making: list[int] = []
            maker = threading.Thread(target=lambda: making.append(dashboard()))
            maker.start()
            assert second.wait(10)  # (threading's own clock: time.monotonic is the test's here)
            others: list[int] = []
            clients = [threading.Thread(target=lambda: others.append(dashboard())) for _ in range(5)]
            for client in clients:
                client.start()
            for client in clients:
                client.join(10)
            assert others == [1] * 5 and making == []  # the last answer at once, while the next is still made
            slow.set()
            maker.join(30)
            assert making == [2] and dashboard() == 2
    finally:
        slow.set()
        server.close()
