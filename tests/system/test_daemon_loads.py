"""The daemon loads only what the box uses: no HTTP/TLS client without webhooks, no library it never calls."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A fresh interpreter holding a started daemon (simulated hardware, the built-in config: no webhooks, the
# modem reports the keys); it prints which of `names` are loaded and which prompts it holds as audio.
STARTED = """
import copy, json, sys, threading
sys.path.insert(0, {repo!r})
from appliance import config as configuration
from appliance.service.control import call
from appliance.sim.simulation import Simulation

doc = copy.deepcopy(configuration.default_document())
doc["prompts"] = {{name: dict(spec, text="Hi.") for name, spec in doc["prompts"].items()}}
simulation = Simulation(doc)
daemon = simulation.daemon(configuration.parse(simulation.document, simulated=True), {data!r})
daemon.start()
loop = threading.Thread(target=daemon.run, daemon=True)
loop.start()
assert daemon.prompts_made.wait(60)  # made after READY=1, off the loop: their making is what is looked at
# Answered by the loop between two items: the start's maintenance (retention, the access log) is done.
assert call(daemon.control_path, "status", timeout=60)["ok"]
print(json.dumps({{"loaded": sorted(set(sys.modules) & set({names!r})),
                  "held": sorted(name for name, sound in daemon.prompts.items() if isinstance(sound, bytes))}}))
daemon.stop()
loop.join(10)
simulation.close()
"""

# Each is megabytes of a Pi Zero's 512 MB, and none is called by a running box of this config. _hashlib is
# OpenSSL's libcrypto (3.4 MB resident; hashlib, hmac and secrets load it), the speech modules belong to a box
# with speak nodes, the serial audio paths to lines that use them. systemd-python stays (a dependency of record:
# it tells systemd READY=1 and writes the journal).
NOT_USED = ("sqlite_utils", "click", "pluggy", "dateutil", "importlib.metadata", "email", "numpy", "flask",
            "jinja2", "werkzeug", "cryptography", "http", "ssl", "paho", "_hashlib", "hashlib", "hmac", "secrets",
            "appliance.speech.engines", "appliance.speech.recogniser",
            "appliance.audio.serial_audio", "appliance.audio.voice_port")


def started(data: Path, names: tuple[str, ...]) -> dict:
    """Run the box as systemd does (told to notify on a socket that is read here)."""
    script = STARTED.format(repo=str(REPO), data=str(data), names=list(names))
    data.parent.mkdir(parents=True, exist_ok=True)
    notify = data.parent / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(str(notify))
        env = dict(os.environ, NOTIFY_SOCKET=str(notify))
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                             check=True, env=env)
        systemd.setblocking(False)
        told = []
        while True:
            try:
                told.append(systemd.recv(4096))
            except BlockingIOError:
                break
        assert any(b"READY=1" in message for message in told)  # the notify path (systemd-python) was taken
    notify.unlink()
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_box_without_webhooks_loads_no_http_or_tls_client(tmp_path):
    assert started(tmp_path / "data", ("http", "ssl"))["loaded"] == []


def test_a_restarted_box_holds_no_library_it_does_not_call_and_no_prompt_audio(tmp_path):
    # The first start makes every prompt (their loudness once loaded numpy, ~20 MB kept for the daemon's life)
    # and the call log (the simulation's threads keep its migrations, and so sqlite-utils, in the process).
    assert started(tmp_path / "data", ("numpy",))["loaded"] == []
    again = started(tmp_path / "data", NOT_USED)
    assert again["loaded"] == []
    assert again["held"] == ["tone:beep", "tone:ringback"]  # the two tones; every spoken prompt is read from its file


# `hotline run` itself, with a signal that makes it say which of `names` it holds (the modem is an emulator in
# the test's process, as hardware would be outside the daemon's).
RUN = """
import json, signal, sys
sys.path.insert(0, {repo!r})
from appliance.cli import main

def tell(_signum, _frame):
    with open({out!r}, "w") as out:
        json.dump(sorted(set(sys.modules) & set({names!r})), out)

signal.signal(signal.SIGUSR1, tell)
sys.exit(main(["run", "--config", {config!r}, "--data", {data!r}]))
"""


def test_hotline_run_holds_no_library_it_does_not_call_after_its_first_start(tmp_path):
    """The first start makes the call log: its migrations (sqlite-utils with click, pluggy, dateutil, email and
    OpenSSL) run in a child process, or they would stay in the daemon for the months a box then runs."""
    from appliance.sim.emulator import ModemEmulator
    from tests.support.boxes import write_config
    from tests.support.waiting import wait_until

    emulator = ModemEmulator("sim800")
    emulator.start()
    config, out, notify = tmp_path / "hotline.toml", tmp_path / "loaded.json", tmp_path / "notify.sock"
    write_config(config, emulator.port)
    script = RUN.format(repo=str(REPO), out=str(out), names=list(NOT_USED), config=str(config),
                        data=str(tmp_path / "data"))
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(notify))
    systemd.settimeout(0.2)
    told: list[str] = []

    def made_prompts() -> bool:  # READY=1 comes first; the prompts are made after it, then the status says so
        try:
            told.extend(systemd.recv(4096).decode().splitlines())
        except TimeoutError:
            pass
        status = [m for m in told if m.startswith("STATUS=")]
        return "READY=1" in told and bool(status) and "making prompts" not in status[-1]

    env = dict(os.environ, NOTIFY_SOCKET=str(notify), GPIOZERO_PIN_FACTORY="mock")
    log = tmp_path / "hotline.log"
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))
    try:
        wait_until(made_prompts, timeout=60, what="READY=1 and the prompts made")
        proc.send_signal(signal.SIGUSR1)
        wait_until(lambda: out.exists() and out.read_text().endswith("]"), timeout=10, what="the module list")
        loaded = json.loads(out.read_text())
        assert loaded == [], (loaded, log.read_text()[:2500])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        systemd.close()
        emulator.stop()
