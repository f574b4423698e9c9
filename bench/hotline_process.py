"""`hotline run` as systemd runs it, for the benches and the tests that need the real process: a subprocess
told its readiness over a NOTIFY_SOCKET read like systemd's, with mock pins, asked its status over the control
socket; and the bench box (bench/simbox.py's document) written for it on the given modems' ports.

bench/faults.py kills and restarts it under faults; bench/footprint.py, bench/web_process.py and
bench/answer_latency.py measure it; tests/system/test_faults.py and test_answer_first.py start it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import tomli_w
from simbox import document as box_document
from simbox import write_blip

from appliance.service import control

READY_WAIT = 30.0


class Hotline:
    """`hotline run` as a subprocess, told its readiness over a NOTIFY_SOCKET as systemd is."""

    def __init__(self, config: Path, data: Path, log: Path, extra_env: dict[str, str] | None = None,
                 argv: list[str] | None = None) -> None:
        """`argv`: what to run instead of `hotline run --config CONFIG --data DATA` (a test's own launcher)."""
        self.config, self.data, self.log = config, data, log
        self.argv = argv or [sys.executable, "-m", "appliance.cli", "run", "--config", str(config), "--data", str(data)]
        self.notices: list[tuple[float, str]] = []  # (monotonic time received, message)
        self._notify_path = str(data.parent / f"notify-{os.getpid()}-{id(self)}.sock")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self._notify_path)
        threading.Thread(target=self._drain, name="bench-notify", daemon=True).start()
        self.env = dict(os.environ, NOTIFY_SOCKET=self._notify_path, GPIOZERO_PIN_FACTORY="mock", **(extra_env or {}))
        for name in ("WATCHDOG_USEC", "WATCHDOG_PID"):
            self.env.pop(name, None)
        self.proc: subprocess.Popen | None = None

    def _drain(self) -> None:  # always reading, as systemd does, so the daemon's notify never waits on us
        while True:
            try:
                data = self._sock.recv(4096)
            except OSError:
                return
            at = time.monotonic()
            self.notices.extend((at, m) for m in data.decode().splitlines())

    def start(self, wait: float = READY_WAIT) -> float | None:
        """Start it; seconds from the exec to READY=1, or None when it exited (or hung `wait` s) before READY."""
        mark = len(self.notices)
        with self.log.open("a") as out:
            began = time.monotonic()
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=Path(__file__).resolve().parent.parent)
        deadline = began + wait
        while time.monotonic() < deadline and self.proc.poll() is None:
            ready = next((at for at, m in self.notices[mark:] if m == "READY=1"), None)
            if ready is not None:
                return ready - began
            time.sleep(0.01)
        self.kill()
        return None

    def wait_for_prompts(self, wait: float = READY_WAIT) -> bool:
        """After READY=1, until the daemon's status no longer says it is making prompts (they are made after
        READY=1); False when it did not within `wait` seconds."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            status = [m for _, m in self.notices if m.startswith("STATUS=")]
            if status and "making prompts" not in status[-1]:
                return True
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def stop(self) -> int | None:
        """SIGTERM, as `systemctl stop` sends; the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def close(self) -> None:
        self.stop()
        self._sock.close()
        Path(self._notify_path).unlink(missing_ok=True)

    def status(self) -> dict[str, Any] | None:
        return status(self.data)


def status(data: Path) -> dict[str, Any] | None:
    """The status of the daemon on `data`, over its control socket; None while none answers (starting, killed)."""
    try:
        reply = control.call(data / "control.sock", "status", timeout=3.0)
    except control.ControlError:
        return None
    return reply if reply.get("ok") else None


def config_document(ports: dict[str, str]) -> dict[str, Any]:
    """The bench box (60 ms prompts, fast cadence, 1 s max wait) on these lines' ports, ALSA `null` audio."""
    doc = box_document()
    doc["lines"] = [dict(line, port=ports[line["id"]], audio_out="null", audio_in="null")
                    for line in doc["lines"] if line["id"] in ports]
    doc["handsets"] = [dict(h, audio_pins={k: v for k, v in h["audio_pins"].items() if k in ports})
                       for h in doc["handsets"]]
    return doc


def write_box(root: Path, ports: dict[str, str]) -> tuple[Path, Path]:
    """A config file and a data dir holding the bench's prompt upload; returns (config, data)."""
    data = root / "data"
    write_blip(data / "uploads" / "blip.wav")
    config = root / "hotline.toml"
    config.write_text(tomli_w.dumps(config_document(ports)))
    return config, data
