"""Bad state at start: the box starts anyway where it safely can, and says what it found."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.service import control
from appliance.sim.emulator import ModemEmulator
from tests.support.boxes import simulated_box, write_config
from tests.support.calls import add_calls, call_ids
from tests.support.processes import stop
from tests.support.status import loop_status
from tests.support.waiting import wait_until

PAGE = 4096


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    add_calls(data, [f"call-{n}" for n in range(5)])
    with contextlib.closing(sqlite3.connect(data / "calls.db")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every call in the main file, as after a clean stop
    return data


def table_leaf_page(blob: bytes, needle: bytes) -> int:
    """The (1-based) page of the calls table holding `needle`: the id also sits in the indexes' pages, so
    its first occurrence may be an index page; a table's leaf page starts with the b-tree flag 13."""
    at = blob.find(needle)
    while at >= 0:
        page = at // PAGE
        if page > 0 and blob[page * PAGE] == 13:
            return page + 1
        at = blob.find(needle, at + 1)
    raise AssertionError(f"{needle!r} is in no table leaf page")


def smash_page(db: Path, page: int) -> None:
    with open(db, "r+b") as file:
        file.seek((page - 1) * PAGE)
        file.write(b"\xa5" * PAGE)


def rootpage(db: Path, name: str) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [name]).fetchone()[0]


def test_a_damaged_call_log_is_moved_aside_salvaged_and_the_box_starts(data: Path) -> None:
    smash_page(data / "calls.db", rootpage(data / "calls.db", "idx_events_kind"))
    with simulated_box(data) as (daemon, _):
        alarms = loop_status(daemon)["alarms"]
        assert [a["id"] for a in alarms] == ["start.database"], alarms
        text = alarms[0]["text"]
        assert "the call log calls.db is damaged" in text
        assert "a fresh log was started and 5 call record(s) were recovered" in text
        aside = [p for p in data.iterdir() if p.name.startswith("calls.db.corrupt-") and
                 not p.name.endswith(("-wal", "-shm"))]
        assert len(aside) == 1 and aside[0].name in text
    assert call_ids(data) == [f"call-{n}" for n in range(5)]
    with contextlib.closing(sqlite3.connect(data / "calls.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_log_too_big_to_check_at_start_is_checked_after_ready_and_salvaged_at_the_next_start(
        data: Path, monkeypatch) -> None:
    """The check reads the whole log: 40 s here for a 1M-call log, every restart waited for it before READY=1.
    A log over the size checked at start (2 MiB; here any) is checked after READY=1; damage is then an alarm,
    and the next start salvages the log from the note left beside it."""
    from appliance.records.store import call_log

    monkeypatch.setattr(call_log, "CHECKED_AT_START", 0)
    smash_page(data / "calls.db", rootpage(data / "calls.db", "idx_events_kind"))
    with simulated_box(data) as (daemon, _):
        # ready, and not moved aside before READY=1; the check after it finds the damage
        assert not [p for p in data.iterdir() if p.name.startswith("calls.db.corrupt-")]
        wait_until(lambda: loop_status(daemon)["alarms"], timeout=30, what="the check after READY=1")
        (alarm,) = loop_status(daemon)["alarms"]
        assert alarm["id"] == "start.database" and "is damaged" in alarm["text"]
        assert "moved aside and salvaged at the next start" in alarm["text"]
    assert (data / "calls.db.damaged").exists()
    with simulated_box(data) as (daemon, _):  # the next start: salvaged from the note, no check needed
        (alarm,) = loop_status(daemon)["alarms"]
        assert "a fresh log was started and 5 call record(s) were recovered" in alarm["text"], alarm
    assert not (data / "calls.db.damaged").exists()
    assert call_ids(data) == [f"call-{n}" for n in range(5)]


def test_calls_on_either_side_of_a_damaged_page_of_the_calls_table_are_recovered(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    ids = [f"call-{n:04d}" for n in range(400)]
    add_calls(data, ids)
    db = data / "calls.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    blob = db.read_bytes()
    smash_page(db, table_leaf_page(blob, b"call-0200"))  # a leaf page in the middle of the calls table
    with simulated_box(data) as (daemon, _):
        text = loop_status(daemon)["alarms"][0]["text"]
    recovered = call_ids(data)
    assert "call-0200" not in recovered and f"{len(recovered)} call record(s) were recovered" in text
    assert recovered[0] == "call-0000" and recovered[-1] == "call-0399"  # read on past the damaged page
    assert len(recovered) >= 300


def test_a_call_log_that_is_not_a_database_is_moved_aside_and_a_fresh_one_starts(data: Path) -> None:
    smash_page(data / "calls.db", 1)  # the header and the schema: nothing can be matched to a table
    damaged = (data / "calls.db").read_bytes()
    with simulated_box(data) as (daemon, _):
        alarms = loop_status(daemon)["alarms"]
        assert [a["id"] for a in alarms] == ["start.database"], alarms
        assert "is not an SQLite database" in alarms[0]["text"]
        aside = next(p for p in data.iterdir() if p.name.startswith("calls.db.corrupt-"))
        assert aside.read_bytes() == damaged  # kept as it was, for whoever wants to dig further
    assert call_ids(data) == []


def test_a_garbage_privacy_key_is_a_clear_could_not_start(tmp_path: Path) -> None:
    emulator = ModemEmulator("sim800")
    emulator.start()
    try:
        data = tmp_path / "data"
        data.mkdir()
        (data / "privacy.key").write_bytes(b"\x00\xffnot a key at all")
        config = tmp_path / "hotline.toml"
        write_config(config, emulator.port)
        env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock", HOTLINE_LOCK_DIR=str(tmp_path))
        done = subprocess.run([sys.executable, "-m", "appliance.cli", "run", "--config", str(config),
                               "--data", str(data)], env=env, capture_output=True, text=True, timeout=60)
    finally:
        emulator.stop()
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"hotline could not start: {data / 'privacy.key'} is not a privacy key" in done.stderr
    assert not (data / "calls.db").exists()  # nothing was touched before the key was read


class Run:
    """`hotline run --config GIVEN --data DATA` as systemd runs it, on a pty modem emulator."""

    def __init__(self, tmp_path: Path) -> None:
        self.emulator = ModemEmulator("sim800")
        self.emulator.start()
        self.given = tmp_path / "hotline.toml"
        self.data = tmp_path / "data"
        self.data.mkdir(exist_ok=True)
        self.lock_dir = tmp_path
        self.proc: subprocess.Popen | None = None

    def write(self, path: Path, name: str) -> str:
        write_config(path, self.emulator.port)
        text = path.read_text().replace('name = "Helpline"', f'name = "{name}"')
        path.write_text(text)
        return text

    def start(self) -> dict:
        env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock", HOTLINE_LOCK_DIR=str(self.lock_dir))
        env.pop("NOTIFY_SOCKET", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "run", "--config", str(self.given),
                                      "--data", str(self.data)], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

        def status() -> dict | None:
            assert self.proc.poll() is None, self.proc.communicate()[0]
            try:
                return control.call(self.data / "control.sock", "status")
            except control.ControlError:
                return None

        return wait_until(status, timeout=30, what="the daemon's status")

    def running_name(self) -> str:
        return control.call(self.data / "control.sock", "config.get")["document"]["box"]["name"]

    def close(self) -> None:
        try:
            if self.proc is not None:
                stop(self.proc, 20)
        finally:
            self.emulator.stop()


@pytest.fixture
def run(tmp_path: Path):
    box = Run(tmp_path)
    yield box
    box.close()


@pytest.mark.parametrize("saved", [b"[flow\nbroken", b"", b"[box]\nname = 42\n"], ids=["garbage", "empty", "invalid"])
def test_a_bad_saved_config_falls_back_to_the_given_one_with_an_alarm(run: Run, saved: bytes) -> None:
    run.write(run.given, "Given")
    bad = run.data / "config.toml"
    bad.write_bytes(saved)
    newer = run.given.stat().st_mtime + 10
    os.utime(bad, (newer, newer))  # applied from the web page after --config was written: it wins
    alarms = run.start()["alarms"]
    assert run.running_name() == "Given"
    assert [a["id"] for a in alarms] == ["start.config"], alarms
    text = alarms[0]["text"]
    assert f"the saved config {bad} was unusable" in text and f"{run.given} is running instead" in text
    aside = next(run.data.glob("config.toml.bad-*"))
    assert aside.read_bytes() == saved and aside.name in text


def test_a_bad_saved_config_falls_back_to_the_newest_good_revision(run: Run) -> None:
    from web.store import WebStore

    run.write(run.given, "Given")
    store = WebStore(run.data / "web.db")
    store.add_revision(run.write(run.data / "older.toml", "Revision one"), "", "admin", "first")
    store.add_revision(run.write(run.data / "newer.toml", "Revision two"), "", "admin", "second")
    store.add_revision("[flow\nbroken", "", "admin", "a bad one never applies, but is skipped all the same")
    (run.data / "config.toml").write_text("[box]\nname = ")
    newer = run.given.stat().st_mtime + 10
    os.utime(run.data / "config.toml", (newer, newer))
    alarms = run.start()["alarms"]
    assert run.running_name() == "Revision two"
    assert "revision 2 of the web page's config history is running instead" in alarms[0]["text"]
    # It is the saved config now: a restart or SIGHUP reads it again, without an alarm.
    assert 'name = "Revision two"' in (run.data / "config.toml").read_text()
