"""The daemon's messages to systemd, read back from a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.service.notify import Notifier, setup_logging


@pytest.fixture
def systemd_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(5)
    yield sock, path
    sock.close()


def _received(sock: socket.socket) -> list[str]:
    messages = [sock.recv(4096).decode()]
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(5)
    return messages


def test_ready_status_ping_and_stopping_reach_systemd(systemd_socket, monkeypatch) -> None:
    sock, path = systemd_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    notifier = Notifier()
    notifier.ready("2 lines up,\n 3 handsets idle")
    notifier.status("gsm1: registered")
    notifier.ping()
    notifier.stopping()
    messages = _received(sock)
    assert messages[0].splitlines() == ["READY=1", "STATUS=2 lines up, 3 handsets idle"]
    assert messages[1:] == ["STATUS=gsm1: registered", "WATCHDOG=1", "STOPPING=1"]


def test_an_injected_environment_is_honoured(systemd_socket, monkeypatch) -> None:
    sock, path = systemd_socket
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    Notifier({"NOTIFY_SOCKET": path}).ping()
    assert _received(sock) == ["WATCHDOG=1"]


def test_silent_without_notify_socket(systemd_socket, monkeypatch) -> None:
    sock, _ = systemd_socket
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    notifier.ready("up")
    notifier.ping()
    notifier.stopping()
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.recv(4096)


def test_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).ping()


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval() == 15.0
    mine = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_interval() == 15.0


@pytest.mark.parametrize("env", [{}, {"WATCHDOG_USEC": "0"}, {"WATCHDOG_USEC": "soon"},
                                 {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}])
def test_no_watchdog_interval_when_nobody_watches_this_process(env: dict[str, str]) -> None:
    assert Notifier(env).watchdog_interval() is None


def test_logs_go_to_stderr_off_systemd() -> None:
    code = ("from appliance.service.notify import setup_logging; import logging;"
            "setup_logging(); logging.getLogger('hotline.line').info('gsm1 registered');"
            "logging.getLogger('x').debug('hidden')")
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "INVOCATION_ID")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert "INFO hotline.line: gsm1 registered" in result.stderr
    assert "hidden" not in result.stderr


def test_logs_go_to_the_journal_with_the_hotline_identifier_under_systemd(monkeypatch) -> None:
    from systemd.journal import JournalHandler

    monkeypatch.setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef")
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging(verbose=True)
        (handler,) = root.handlers
        assert isinstance(handler, JournalHandler)
        sent: list[tuple[str, dict[str, object]]] = []
        handler.send = lambda text, /, **fields: sent.append((text, fields))
        logging.getLogger("hotline.line").debug("gsm1 registered", extra={"LINE": "gsm1"})
        ((message, fields),) = sent
        assert message == "hotline.line: gsm1 registered"
        assert fields["SYSLOG_IDENTIFIER"] == "hotline"
        assert fields["LINE"] == "gsm1"
        assert fields["PRIORITY"] == "7"
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_the_web_process_logs_plain_lines_with_their_priority_under_systemd(monkeypatch, capsys) -> None:
    """journal_fields=False (hotline web): journald reads the priority from each line's "<N>", a traceback's too."""
    monkeypatch.setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef")
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging(journal_fields=False)
        try:
            raise ValueError("the relay refused")
        except ValueError:
            logging.getLogger("hotline.web").exception("alert not sent")
        logging.getLogger("hotline.web").warning("slow")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "<3>hotline.web: alert not sent" and lines[-1] == "<4>hotline.web: slow"
    assert len(lines) > 3 and all(line.startswith("<3>") for line in lines[:-1])
    assert "<3>ValueError: the relay refused" in lines
