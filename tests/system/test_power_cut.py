"""A call's record is on the card soon after its commit, and the event loop never waits for the card.

A power cut cannot be made here (dropping the page cache needs the machine), so what is proved is what a power
cut depends on, watched from outside with strace on the real `hotline run`: after the call's record is
committed (written into calls.db-wal), calls.db-wal is fsynced; and that fsync does not run on the
daemon's main thread, its event loop, for it (docs/records.md, "Power cuts").
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import hotline_process  # noqa: E402

from appliance.records.store.calls import CallStore  # noqa: E402
from appliance.records.store.durable import WalSync  # noqa: E402
from appliance.records.store.journal import Journal, JournaledStore  # noqa: E402
from appliance.sim.emulator import ModemEmulator  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402

SYSCALL = re.compile(r"^(\d+)\s+(\w+)\((\d+)<([^>]*)>")


def _calls(trace: Path) -> list[tuple[int, str, str]]:
    """(thread id, system call, file) of each traced call on a file, in order."""
    found = []
    for line in trace.read_text(errors="replace").splitlines():
        match = SYSCALL.match(line)
        if match:
            found.append((int(match[1]), match[2], match[4]))
    return found


def _recorded(data: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{data / 'calls.db'}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        return bool(conn.execute("SELECT COUNT(*) FROM calls WHERE ended_at IS NOT NULL").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_a_calls_record_is_fsynced_after_its_commit_and_never_on_the_event_loop(tmp_path):
    emulator = ModemEmulator("sim800")
    emulator.start()
    config, data = hotline_process.write_box(tmp_path, {"gsm1": emulator.port})
    hotline = hotline_process.Hotline(config, data, tmp_path / "hotline.log")
    trace = tmp_path / "strace.txt"
    strace = None
    try:
        assert hotline.start() is not None, (tmp_path / "hotline.log").read_text()
        wait_until(lambda: (hotline.status() or {}).get("lines", [{}])[0].get("state") == "up", what="line up")
        pid = hotline.proc.pid
        strace = subprocess.Popen(["strace", "-f", "-qq", "-y", "-o", str(trace),
                                   "-e", "trace=fsync,fdatasync,pwrite64,write", "-p", str(pid)],
                                  stderr=subprocess.PIPE)
        wait_until(lambda: _attached(pid) or strace.poll() is not None, what="strace attached")
        if strace.poll() is not None:  # ptrace refused (a container without CAP_SYS_PTRACE, Yama's scope 3)
            pytest.skip(f"strace cannot attach here: {strace.stderr.read().decode(errors='replace').strip()}")
        emulator.incoming_call("+79161234567")
        assert emulator.wait_for("ATA", timeout=10)
        wait_until(lambda: emulator.script.call == "active", what="the call answered")
        emulator.remote_hangup()
        wait_until(lambda: _recorded(data), what="the call's record committed")
        wal = str(data / "calls.db-wal")

        def synced_after_the_last_commit() -> list[int]:
            """The threads that fsynced calls.db-wal after the last write into it (the record's commit)."""
            calls = _calls(trace)
            writes = [i for i, (_, name, path) in enumerate(calls) if path == wal and "write" in name]
            return [tid for tid, name, path in calls[writes[-1] + 1:] if path == wal and "sync" in name] if writes \
                else []

        syncing = wait_until(synced_after_the_last_commit, timeout=10,
                             what="calls.db-wal fsynced after the record's commit")
        assert pid not in syncing, "the event loop waited for the card"
    finally:
        try:
            if strace is not None:
                strace.terminate()  # detaches from every thread: slow on a loaded machine
                try:
                    strace.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    strace.kill()  # the kernel detaches its tracees when it dies
                    strace.wait()
        finally:  # the daemon never outlives the test, whatever strace did
            hotline.close()
            emulator.stop()


def _attached(pid: int) -> bool:
    """strace holds the daemon: its TracerPid is set."""
    status = Path(f"/proc/{pid}/status").read_text()
    return re.search(r"^TracerPid:\s+[1-9]", status, re.M) is not None


def test_the_daemons_writer_leaves_syncs_and_checkpoints_to_its_thread(start_box):
    """The PRAGMAs in force on the connection the daemon writes call records with, read from it."""
    daemon, _ = start_box()
    conn = daemon.keeper.store.db.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: the WAL is synced off the loop
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0  # no checkpoint on the loop


def test_records_reach_the_database_file_through_the_threads_checkpoints(tmp_path):
    """With the writer's own checkpoints off, the sync thread's copy the log into calls.db: a copy of calls.db
    alone (no -wal, as after a power cut that lost an unsynced log) holds the records."""
    store = CallStore(tmp_path / "calls.db")
    sync = WalSync(store.path, checkpoint_every=3)
    sync.adopt(store.db.conn)
    journaled = JournaledStore(store, Journal(tmp_path / "calls.journal"), on_commit=sync.committed)

    def in_the_file_alone() -> int:
        shutil.copyfile(store.path, tmp_path / "copy.db")
        with contextlib.closing(sqlite3.connect(tmp_path / "copy.db")) as conn:
            try:
                return conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
            except sqlite3.OperationalError:  # not even the schema is in the file yet: all of it is in the log
                return 0

    try:
        for i in range(3):
            journaled.call_started(f"c{i}", "gsm1", "+79161234567", 1000.0 + i)
        wait_until(lambda: sync.synced_count == 3 and in_the_file_alone() == 3, what="the records checkpointed")
    finally:
        sync.close()
        store.close()


def test_the_sync_threads_connection_holds_no_parsed_schema_between_its_checkpoints(tmp_path):
    """Each connection to calls.db parses the whole schema for itself (~0.5 MB for its tables, indexes and
    triggers). The thread's checkpoint connection stays open from the first call on (its descriptors are the
    box's for good) but gives its schema back after each checkpoint, so an idle box holds the writer's alone
    (docs/proof.md, "Issue 18, ninth session: firstcall"). Read as SQLite's own count of the memory it holds in
    this process (the library _sqlite3 is linked to), once the records are synced and checkpointed."""
    sqlite_library = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
    sqlite_library.sqlite3_memory_used.restype = ctypes.c_int64
    store = CallStore(tmp_path / "calls.db")
    sync = WalSync(store.path, checkpoint_every=2)
    sync.adopt(store.db.conn)
    journaled = JournaledStore(store, Journal(tmp_path / "calls.journal"), on_commit=sync.committed)
    try:
        store.call_started("c0", "gsm1", "+79161234567", 1000.0)  # the writer's schema and statements, no sync
        before = sqlite_library.sqlite3_memory_used()
        with contextlib.closing(sqlite3.connect(store.path)) as another:
            another.execute("SELECT COUNT(*) FROM calls").fetchone()
            schema = sqlite_library.sqlite3_memory_used() - before  # what one more connection holds
        for i in range(1, 6):
            journaled.call_started(f"c{i}", "gsm1", "+79161234567", 1000.0 + i)
            wait_until(lambda i=i: sync.synced_count == i, what="the commit synced")  # checkpoints at 2 and 4
        assert schema > 100_000
        assert _opened_here(store.path) == 2  # the writer's and the thread's connections, both open
        assert sqlite_library.sqlite3_memory_used() - before < schema / 2
    finally:
        sync.close()
        store.close()


def _opened_here(path: Path) -> int:
    return _opened(int(Path("/proc/self").resolve().name), path)


def _opened(pid: int, path: Path) -> int:
    """How many of the process's descriptors are open on `path`."""
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if _target(fd) == str(path))


def _target(fd: Path) -> str | None:
    try:
        return str(fd.readlink())
    except OSError:  # closed while listed
        return None


def test_a_restart_that_writes_no_record_keeps_no_sync_connection_until_the_first_call(tmp_path):
    """A clean restart finds no interrupted call to close: nothing reached the log, so the sync thread and its
    checkpoint connection (a second parsed schema, ~0.6 MB of a Pi Zero's memory) wait for the first record;
    the first call's record then starts them, and is on the card one fsync after its commit as before."""
    emulator = ModemEmulator("sim800")
    emulator.start()
    config, data = hotline_process.write_box(tmp_path, {"gsm1": emulator.port})
    hotline = hotline_process.Hotline(config, data, tmp_path / "hotline.log")
    try:
        for start in ("first start", "restart"):
            assert hotline.start() is not None, (tmp_path / "hotline.log").read_text()
            assert hotline.wait_for_prompts()
            assert hotline.status() is not None  # answered by the loop: the start's writes are done
            if start == "first start":
                hotline.stop()
        pid = hotline.proc.pid
        assert _opened(pid, data / "calls.db") == 1  # the writer's connection alone
        emulator.incoming_call("+79161234567")
        assert emulator.wait_for("ATA", timeout=10)
        wait_until(lambda: emulator.script.call == "active", what="the call answered")
        emulator.remote_hangup()
        wait_until(lambda: _recorded(data), what="the call's record committed")
        wait_until(lambda: _opened(pid, data / "calls.db") == 2, what="the sync thread's connection opened")
    finally:
        hotline.close()
        emulator.stop()
