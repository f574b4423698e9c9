"""A first start makes its call log and audit log in one child process, forked before the box is loaded, so the
child's work (sqlite-utils' import and the migrations) runs beside the daemon's own imports."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

from appliance.records.store import blank_logs
from appliance.records.store.access import ACCESS_MIGRATIONS
from appliance.records.store.migrations import MIGRATIONS
from appliance.service.schemas_ahead import _make
from appliance.sim.emulator import ModemEmulator
from tests.support.boxes import write_config
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]

# `hotline run`, noting each fork it makes (subprocess's fork-and-exec runs no at-fork hook) and whether the
# config model was loaded by then.
RUN = """
import json, os, sys
sys.path.insert(0, {repo!r})

def forked():
    with open({out!r}, "a") as out:
        out.write(json.dumps({{"config_loaded": "appliance.config" in sys.modules}}) + "\\n")

os.register_at_fork(after_in_parent=forked)
from appliance.cli import main
sys.exit(main(["run", "--config", {config!r}, "--data", {data!r}]))
"""


def _version(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]


def _schema(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [*conn.iterdump()]


def _run_until_ready(tmp_path: Path, config: Path, data: Path, forks: Path, **extra_env: str) -> None:
    notify = tmp_path / "notify.sock"
    notify.unlink(missing_ok=True)
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(notify))
    systemd.settimeout(0.2)
    told: list[str] = []

    def ready() -> bool:
        try:
            told.extend(systemd.recv(4096).decode().splitlines())
        except TimeoutError:
            pass
        return "READY=1" in told

    script = RUN.format(repo=str(REPO), out=str(forks), config=str(config), data=str(data))
    env = dict(os.environ, NOTIFY_SOCKET=str(notify), GPIOZERO_PIN_FACTORY="mock", **extra_env)
    log = tmp_path / "hotline.log"
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("a"))
    try:
        wait_until(lambda: ready() or proc.poll() is not None, timeout=60, what="READY=1")
        assert proc.poll() is None, log.read_text()[-2500:]
    finally:
        proc.terminate()
        proc.wait(15)
        systemd.close()


def test_a_first_start_makes_both_databases_in_one_child_forked_before_the_box_loads(tmp_path):
    emulator = ModemEmulator("sim800")
    emulator.start()
    config, data, forks = tmp_path / "hotline.toml", tmp_path / "data", tmp_path / "forks.jsonl"
    write_config(config, emulator.port)
    data.mkdir()  # as systemd's StateDirectory= leaves it
    try:
        _run_until_ready(tmp_path, config, data, forks)
        first = [json.loads(line) for line in forks.read_text().splitlines()]
        assert first == [{"config_loaded": False}]
        assert _version(data / "calls.db") == len(MIGRATIONS)
        assert _version(data / "access.db") == len(ACCESS_MIGRATIONS)
        forks.unlink()
        _run_until_ready(tmp_path, config, data, forks)  # a restart has nothing to make: no child
        assert not forks.exists()
    finally:
        emulator.stop()


def test_an_installed_box_copies_the_empty_logs_its_install_made_and_forks_no_child(tmp_path):
    """The install's bytecode step makes both empty logs (appliance.ops.bytecode), where the daemon's unit points
    PYTHONPYCACHEPREFIX: a first start copies them, with the schema the migrations make, and needs no child."""
    emulator = ModemEmulator("sim800")
    emulator.start()
    prefix, made = tmp_path / "pycache", tmp_path / "migrated"
    config, data, forks = tmp_path / "hotline.toml", tmp_path / "data", tmp_path / "forks.jsonl"
    write_config(config, emulator.port)
    data.mkdir()
    made.mkdir()
    blank_logs.make(prefix)
    try:
        _run_until_ready(tmp_path, config, data, forks, PYTHONPYCACHEPREFIX=str(prefix))
        assert not forks.exists()
    finally:
        emulator.stop()
    _make(made, ["calls.db", "access.db"])  # as the child makes them
    for name in ("calls.db", "access.db"):
        def steps(dump: list[str]) -> list[str]:  # when each step ran differs
            return [line for line in dump if '"schema_migrations" VALUES' not in line]

        migrated, copied = _schema(made / name), _schema(data / name)
        assert steps(copied) == steps(migrated)
        assert len(copied) == len(migrated)
    assert _version(data / "calls.db") == len(MIGRATIONS)
    assert _version(data / "access.db") == len(ACCESS_MIGRATIONS)
