"""`hotline run` as systemd runs it: READY=1 once lines are up, watchdog pings, SIGHUP reload, SIGTERM."""

from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import tomli_w

from appliance import config as configuration
from appliance.sim.emulator import ModemEmulator


def write_config(path, port: str, greeting: str = "Hello.") -> None:
    document = copy.deepcopy(configuration.default_document())
    document["lines"][0]["port"] = port
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    document["prompts"]["greeting"]["text"] = greeting
    path.write_text(tomli_w.dumps(document))


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
    yield proc, received, config, emulator
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    emulator.stop()


def messages(received: list[str], until: str, after: int = 0, timeout: float = 15) -> list[str]:
    """The notify messages from index `after` on, once one of them contains `until`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = received[after:]
        if any(until in m for m in seen):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"never saw {until!r} in {received[after:]}")


def test_ready_once_lines_are_up_then_watchdog_then_clean_stop(running):
    proc, received, _, emulator = running
    seen = messages(received, "READY=1")
    status = [m for m in seen if m.startswith("STATUS=")]
    assert status and "1/1 lines up" in status[-1], seen
    assert emulator.count("AT") > 0  # the line was initialised before READY
    time.sleep(1.0)
    assert received.count("WATCHDOG=1") >= 2  # every 0.2 s with WATCHDOG_USEC=400000
    proc.send_signal(signal.SIGTERM)
    assert "STOPPING=1" in messages(received, "STOPPING=1")
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out


def test_sighup_with_a_broken_config_keeps_the_running_one(running):
    proc, received, config, _ = running
    messages(received, "READY=1")
    config.write_text("[flow\nbroken")
    proc.send_signal(signal.SIGHUP)
    time.sleep(1.0)
    assert proc.poll() is None
    messages(received, "WATCHDOG=1", after=len(received))  # the loop is still healthy
    write_config(config, running[3].port, greeting="A new greeting.")
    proc.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert "config reload refused" in out and "is not valid TOML" in out
    assert "config reloaded from" in out
