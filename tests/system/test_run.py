"""`hotline run` as systemd runs it: READY=1 once lines are up, watchdog pings, SIGHUP reload, SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading

import pytest

from appliance.sim.emulator import ModemEmulator
from tests.support.boxes import write_config
from tests.support.waiting import wait_until


class Output:
    """What the daemon writes to stdout and stderr, read as it writes it, so a test can wait for a line."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def whole(self) -> str:
        """All of it, once the process has ended."""
        self._reader.join(10)
        return "".join(self.lines)


@pytest.fixture
def running(tmp_path):
    emulator = ModemEmulator("sim800")
    emulator.start()
    notify_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    received: list[str] = []

    def drain() -> None:  # as systemd does: always reading, so the daemon's notify never waits on us
        while True:
            try:
                received.extend(sock.recv(4096).decode().splitlines())
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    config = tmp_path / "hotline.toml"
    write_config(config, emulator.port)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="400000", GPIOZERO_PIN_FACTORY="mock")
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "run", "--config", str(config),
                             "--data", str(tmp_path / "data")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    output = Output(proc.stdout)
    yield proc, received, config, emulator, output
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    output.whole()
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    emulator.stop()


def messages(received: list[str], until: str, after: int = 0, timeout: float = 15) -> list[str]:
    """The notify messages from index `after` on, once one of them contains `until`."""
    return wait_until(lambda: any(until in m for m in received[after:]) and received[after:], timeout,
                      f"{until!r} among the notify messages")


def test_ready_once_lines_are_up_then_watchdog_then_clean_stop(running):
    proc, received, _, emulator, output = running
    seen = messages(received, "READY=1")
    status = [m for m in seen if m.startswith("STATUS=")]
    assert status and "1/1 lines up" in status[-1], seen
    assert emulator.count("AT") > 0  # the line was initialised before READY
    wait_until(lambda: received.count("WATCHDOG=1") >= 2, 5, "two watchdog pings (every 0.2 s, WATCHDOG_USEC=400000)")
    proc.send_signal(signal.SIGTERM)
    assert "STOPPING=1" in messages(received, "STOPPING=1")
    assert proc.wait(timeout=10) == 0, output.whole()


def prompts_made(received: list[str]) -> bool:
    """The daemon's last status no longer says it is making prompts (they are made after READY=1)."""
    status = [m for m in received if m.startswith("STATUS=")]
    return bool(status) and "making prompts" not in status[-1]


def test_sighup_with_a_broken_config_keeps_the_running_one(running):
    proc, received, config, emulator, output = running
    messages(received, "READY=1")
    # A reload's prompts are made by the worker that makes the start's: waited for, the reload's own wait below
    # is for its one new prompt, not for every prompt of a start on a loaded machine
    wait_until(lambda: prompts_made(received), 60, "the start's prompts")
    config.write_text("[flow\nbroken")
    proc.send_signal(signal.SIGHUP)
    wait_until(lambda: output.has("config reload refused"), 10, "the broken config refused")
    assert proc.poll() is None
    messages(received, "WATCHDOG=1", after=len(received))  # the loop is still healthy
    write_config(config, emulator.port, greeting="A new greeting.")
    proc.send_signal(signal.SIGHUP)
    wait_until(lambda: output.has("config reloaded from"), 10, "the good config reloaded")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    out = output.whole()
    assert "config reload refused" in out and "is not valid TOML" in out
    assert "config reloaded from" in out
