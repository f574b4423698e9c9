"""The web app asks the daemon for its status at most once a second, and afresh after anything it asked it to do."""

from __future__ import annotations

import threading

from flask import Flask

from appliance.service.control_server import ControlServer
from web import link


def test_status_is_asked_once_a_second_and_afresh_after_a_command(tmp_path, monkeypatch):
    asked: list[str] = []

    def daemon(item) -> None:  # the daemon's loop, answering at once
        asked.append(item.command)
        item.reply.put({"ok": True, "calls": [{"caller": "+15550001"}], "n": len(asked)})

    server = ControlServer(tmp_path / "control.sock", daemon)
    app = Flask("t")
    app.config["CONTROL_PATH"] = str(tmp_path / "control.sock")
    now = [100.0]
    monkeypatch.setattr(link.time, "monotonic", lambda: now[0])
    try:
        with app.app_context():
            replies = [link.ask("status") for _ in range(20)]  # twenty dashboards in the same second
            assert asked == ["status"] and all(r["n"] == 1 for r in replies)
            replies[0]["calls"][0]["caller"] = "masked"  # one viewer's copy is theirs alone
            assert link.ask("status")["calls"][0]["caller"] == "+15550001"
            link.ask("override.set", state="open")  # the page changed something: the next status is fresh
            assert link.ask("status")["n"] == 3
            now[0] += 1.0
            assert link.ask("status")["n"] == 4 and asked.count("status") == 3
        threads = [threading.Thread(target=lambda: app.app_context().push() or link.ask("status")) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert asked.count("status") == 3  # still the same second
    finally:
        server.close()
