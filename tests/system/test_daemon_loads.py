"""The daemon loads only what the box uses: no HTTP/TLS client without webhooks, no library it never calls."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from appliance.service.control import call

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

# Each is megabytes of a Pi Zero's 512 MB (the box's own modules, tens of KB), and none is called by a running box
# of this config. _hashlib is OpenSSL's libcrypto (3.4 MB resident; hashlib, hmac and secrets load it), the speech
# modules belong to a box with speak nodes, the serial audio paths to lines that use them; uuid (with platform)
# made nothing but a call's random id; the webhook sender is a box's with webhooks, and each modem family's dialect
# is imported where a line names it (this box's is sim800); prompts still to be made are made by a child process
# (audio/prompt_process.py, started by posix_spawn), so the daemon holds no thread pool, loudness pass or subprocess
# (the recorder imports it at the end of a recording); a line whose modem reports keys loads no software DTMF
# receiver (the bench's and this box's modems do); a damaged call log is salvaged by a module imported then
# (records/store/salvage.py; the start's checks are in call_log.py). systemd-python stays (a dependency of record:
# it tells systemd READY=1 and writes the journal). Of gpiozero the daemon loads its pin layer only
# (appliance/handsets/__init__.py): not its device classes, colorzero, tones or fonts, nor the statistics (with
# decimal and fractions) and pprint they import (nor importlib.resources: RARE, the built-in simulation's document
# reads it).
NOT_USED = ("sqlite_utils", "click", "pluggy", "dateutil", "importlib.metadata", "email", "numpy", "flask",
            "jinja2", "werkzeug", "cryptography", "Cryptodome", "http", "ssl", "paho", "_hashlib", "hashlib", "hmac",
            "secrets",
            "appliance.speech.engines", "appliance.speech.recogniser",
            "appliance.audio.serial_audio", "appliance.audio.voice_port", "uuid", "platform",
            "appliance.records.webhook_sender", "appliance.modem.dialects.sim7600", "appliance.modem.dialects.quectel",
            "appliance.modem.dialects.huawei", "appliance.modem.dialects.v253", "concurrent.futures",
            "gpiozero.boards", "gpiozero.input_devices", "gpiozero.output_devices", "gpiozero.tones",
            "gpiozero.internal_devices", "gpiozero.spi_devices", "colorzero", "statistics", "decimal", "fractions",
            "pprint", "appliance.audio.loudness", "subprocess", "appliance.audio.dtmf",
            "appliance.audio.dtmf_engine", "appliance.audio.dtmf_tones", "appliance.records.store.salvage")
# Asked of `hotline run` only (the simulation's built-in document is read through importlib.resources, which imports
# tempfile): tempfile with the shutil, bz2 and lzma it imports. The recorder and atomic_write make their scratch
# files with files.scratch_beside; a prompt's or a damaged log's work directory imports tempfile where it is made.
SCRATCH = ("tempfile", "shutil", "bz2", "lzma")


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

    emulator = ModemEmulator("sim800")
    emulator.start()
    try:
        loaded = run_loads(tmp_path, emulator.port, NOT_USED + SCRATCH)
        assert loaded["names"] == [], loaded
    finally:
        emulator.stop()


# What an idle box never calls, on the paths a running box takes only rarely or never: the call log's reader
# and statistics (the web app's: ~600 lines), a caller's erasure, the alert sender and its texts (a box
# without alert rules), the calendar (the first SMS), ctypes (adjtimex, only without systemd-timesyncd's
# file), Python's build configuration (sysconfig's table, which zoneinfo reads unless the unit names its
# search path), argparse with gettext (the unit's command line is read without them), wave (only
# `hotline dtmf-decode` reads a file) and importlib.resources (the built-in simulation's config; gpiozero's
# boards read their fonts with it). Each loads at its first use, off the path of a call (docs/proof.md).
RARE = ("appliance.records.store.queries", "appliance.records.store.stats", "appliance.records.store.erasure",
        "appliance.alerts.sender", "appliance.alerts.texts", "appliance.service.alerting", "calendar", "ctypes",
        "argparse", "gettext", "wave", "importlib.resources",
        "_sysconfigdata__x86_64-linux-gnu", "_sysconfigdata__aarch64-linux-gnu")


def test_a_restarted_daemon_with_its_clock_set_holds_no_module_of_a_rare_path(tmp_path):
    """A restart (how a box spends its months) with the time synchronised, so the start's retention runs too,
    under the shipped unit's zoneinfo path; then a first call, which must find what it needs loaded."""
    from appliance.sim.emulator import ModemEmulator
    from bench.boxenv import unit_environment

    synced = tmp_path / "synchronized"  # what systemd-timesyncd leaves once the clock is set
    synced.touch()
    unit = {k: v for k, v in unit_environment().items() if k == "PYTHONTZPATH"}  # the rest is the box's paths
    env = {"HOTLINE_TIMESYNC_FILE": str(synced), **unit}
    emulator = ModemEmulator("sim800")
    emulator.start()
    try:
        run_loads(tmp_path / "first", emulator.port, RARE, env)  # makes the call log and the prompts
        again = run_loads(tmp_path / "first", emulator.port, RARE, env, retention=True)
        assert again["names"] == [], again
    finally:
        emulator.stop()


# What a first call loads, a box holds for the rest of its life (bench footprint, "after a first call"). The seal of
# the caller's number (records/sealed.py) is AES-GCM composed over pycryptodomex's C modules, bound with ctypes: one
# AES block module, the ECB module that runs it, one GHASH module (and, where the x86 ones were built, the CPU probe
# that chooses them). None of the library's Python side: its ctypes binding (with ctypes.util, the standard
# library's process and archive modules, platform), its AES and GCM objects with their CTR, BLAKE2s and Util.number
# (a table of primes), and their four other C modules (docs/proof.md, "tenth session: sealmin"). subprocess and
# locale are not here: a box that records a call loads them at its end, for the FLAC encoder.
FIRST_CALL = ("ctypes.util", "platform", "shutil", "tempfile", "bz2", "lzma", "Cryptodome.Util", "Cryptodome.Cipher",
              "Cryptodome.Hash", "Cryptodome.Random")
AES, GHASH = {"_raw_aes", "_raw_aesni"}, {"_ghash_portable", "_ghash_clmul"}


def test_hotline_run_after_its_first_call_holds_the_seals_c_modules_and_none_of_its_librarys_python(tmp_path):
    from appliance.sim.emulator import ModemEmulator
    from bench.boxenv import unit_environment
    from tests.support.waiting import wait_until

    env = {k: v for k, v in unit_environment().items() if k == "PYTHONOPTIMIZE"}  # the unit's -OO
    emulator = ModemEmulator("sim800")
    emulator.start()
    mapped: set[str] = set()

    def cryptodome(pid: int) -> set[str]:
        return {Path(line.split()[-1]).name.split(".")[0] for line in Path(f"/proc/{pid}/maps").read_text().splitlines()
                if "/Cryptodome/" in line}

    def first_call(pid: int, data: Path) -> None:
        emulator.incoming_call("+79161234567")
        wait_until(lambda: emulator.script.call == "active", what="the call answered")
        # a GHASH module mapped (the answer journal sealed the number) before the caller hangs up
        wait_until(lambda: cryptodome(pid) & GHASH, timeout=30, what="the caller's number sealed")
        emulator.remote_hangup()
        wait_until(lambda: all(line.get("call") is None
                               for line in call(data / "control.sock", "status", timeout=10)["lines"]),
                   what="the line free again")
        mapped.update(cryptodome(pid))

    try:
        run_loads(tmp_path, emulator.port, (), env)  # the first start: the call log and the prompts made
        loaded = run_loads(tmp_path, emulator.port, FIRST_CALL, env, then=first_call)
        assert loaded["names"] == [], loaded
        aes, ghash = mapped & AES, mapped & GHASH
        assert (len(aes), len(ghash)) == (1, 1) and mapped - aes - ghash <= {"_raw_ecb", "_cpuid_c"}, mapped
    finally:
        emulator.stop()


def run_loads(root: Path, port: str, names: tuple[str, ...], extra_env: dict[str, str] | None = None,
              retention: bool = False, then: Callable[[int, Path], None] | None = None) -> dict:
    """`hotline run` on the emulated modem until READY=1 and its prompts made: which of `names` it holds (with
    `retention`, once the start's retention has run; with `then`, once it returned, given the daemon's pid and
    data directory), and its log."""
    from tests.support.boxes import write_config
    from tests.support.waiting import wait_until

    root.mkdir(parents=True, exist_ok=True)
    config, out, notify = root / "hotline.toml", root / "loaded.json", root / "notify.sock"
    out.unlink(missing_ok=True)
    write_config(config, port)
    script = RUN.format(repo=str(REPO), out=str(out), names=list(names), config=str(config), data=str(root / "data"))
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

    env = dict(os.environ, NOTIFY_SOCKET=str(notify), GPIOZERO_PIN_FACTORY="mock", **(extra_env or {}))
    log = root / "hotline.log"
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))
    try:
        wait_until(made_prompts, timeout=60, what="READY=1 and the prompts made")
        if retention:  # answered by the loop between two items: the start's maintenance (retention) is done
            assert call(root / "data" / "control.sock", "status", timeout=60)["ok"]
        if then is not None:
            then(proc.pid, root / "data")
        proc.send_signal(signal.SIGUSR1)
        wait_until(lambda: out.exists() and out.read_text().endswith("]"), timeout=10, what="the module list")
        return {"names": json.loads(out.read_text()), "log": log.read_text()[:2500]}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        systemd.close()
        notify.unlink(missing_ok=True)
