"""Supervisors listening to live calls in the browser each hold one of the web server's 4 threads for as long as
the call lasts: at most two streams at once, so the dashboards and every other page keep answering (before, four
listeners took every thread and the rest of the box's web page waited until a call ended)."""

from __future__ import annotations

import http.client
import socket
import threading

import pytest

from appliance.service.control_server import ControlServer
from tests.support.waiting import wait_until
from tests.support.web import PASSWORD, csrf_token
from tests.support.web_server import serving
from web import create_app
from web.pages import LISTENERS


@pytest.fixture
def call_audio(tmp_path):
    """(a unix socket that streams a live call's audio, 20 ms of silence every 20 ms, to each who connects; the
    call's end, which closes every stream as the daemon does)."""
    path = tmp_path / "listen.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    ended = threading.Event()

    def talk(conn: socket.socket) -> None:
        with conn:
            while not ended.wait(0.02):
                try:
                    conn.sendall(bytes(320))
                except OSError:
                    return

    def accept() -> None:
        while not ended.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=talk, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield path, ended
    ended.set()
    server.close()


def _daemon(audio_path):
    def answer(item) -> None:
        if item.command == "call.listen":
            item.reply.put({"ok": True, "socket": str(audio_path), "rate": 8000, "both_sides": False})
        elif item.command == "status":
            item.reply.put({"ok": True, "lines": [], "handsets": [], "queue": [], "operators": [], "calls": [],
                            "schedule": {"open": True, "override": None}, "alarms": []})
        elif item.command == "config.get":
            item.reply.put({"ok": True, "document": {"schedule": {"timezone": "UTC"}}, "override": None})
        else:
            item.reply.put({"ok": True})
    return answer


def _cookie(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    reply = conn.getresponse()
    page, cookie = reply.read().decode(), reply.getheader("Set-Cookie").split(";", 1)[0]
    form = f"username=boss&password={PASSWORD.replace(' ', '+')}&csrf_token={csrf_token(page)}"
    conn.request("POST", "/login", body=form, headers={"Cookie": cookie,
                                                        "Content-Type": "application/x-www-form-urlencoded"})
    reply = conn.getresponse()
    reply.read()
    assert reply.status == 302
    return reply.getheader("Set-Cookie").split(";", 1)[0]


def _listen(port: int, cookie: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/calls/c1/listen", headers={"Cookie": cookie})
    return conn, conn.getresponse()


def test_listeners_beyond_two_are_refused_and_the_dashboard_still_answers(tmp_path, call_audio):
    audio, call_ends = call_audio
    control = ControlServer(tmp_path / "control.sock", _daemon(audio))
    app = create_app(tmp_path, control_path=tmp_path / "control.sock")
    app.extensions["web_store"].add_user("boss", PASSWORD, "supervisor")
    token = (tmp_path / "api-token").read_text().strip()
    streams: list[tuple[http.client.HTTPConnection, http.client.HTTPResponse]] = []
    with serving(app, threads=4) as port:
        try:
            cookie = _cookie(port)
            answers = []
            for _ in range(4):  # as many as the server has threads, each kept open and read as a player does
                conn, reply = _listen(port, cookie)
                streams.append((conn, reply))
                answers.append((reply.status, reply.read(2000) if reply.status == 200 else reply.read()))
            assert [status for status, _ in answers] == [200] * LISTENERS + [503] * (4 - LISTENERS)
            assert all(body.startswith(b"RIFF") for _, body in answers[:LISTENERS])
            assert b"listening to calls already" in answers[-1][1]
            dashboard = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            dashboard.request("GET", "/api/dashboard", headers={"Authorization": f"Bearer {token}"})
            assert dashboard.getresponse().status == 200  # before: timed out, every thread streaming
            dashboard.close()
            streams.pop(0)[0].close()  # one supervisor stops listening: the next one may

            def listens_again() -> bool:
                conn, reply = _listen(port, cookie)
                streams.append((conn, reply))
                return reply.status == 200
            wait_until(listens_again, 10, "a listening slot given back")
        finally:
            call_ends.set()  # the streams end with the call, before the server stops
            for conn, _ in streams:
                conn.close()
            control.close()
