"""Writes the database refuses wait in order and are written once: faults injected at the store's boundary.

The real CallStore on a real SQLite file; its call-path methods raise SQLite's own "database or disk is
full" while the test says the disk is full (no mount needed; tests/system/test_disk_full.py fills a real one).
"""

from __future__ import annotations

import sqlite3

import pytest

from appliance.records.store.calls import CallStore
from appliance.records.store.journal import Journal, JournaledStore
from tests.support.storage_faults import FullDisk


def record(call_id: str, start: float) -> dict:
    return {"id": call_id, "line": "gsm1", "caller": "+15550001", "started_at": start, "answered_at": start + 1,
            "ended_at": start + 30, "outcome": "completed", "ended_by": "caller",
            "events": [{"event": "ANSWERED", "at": start + 1}, {"event": "COMPLETECALLER", "at": start + 30}]}


def take_a_call(store, call_id: str, start: float) -> None:
    store.call_started(call_id, "gsm1", "+15550001", start)
    store.call_ended(record(call_id, start))


def rows(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, outcome FROM calls ORDER BY started_at").fetchall()


def events(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM call_events").fetchone()[0]


@pytest.fixture
def box(tmp_path):
    store = CallStore(tmp_path / "calls.db")
    disk = FullDisk(store)
    journaled = JournaledStore(store, Journal(tmp_path / "calls.journal"))
    yield journaled, disk, tmp_path
    store.close()


def test_refused_writes_wait_in_order_and_are_written_once_when_space_returns(box):
    store, disk, path = box
    take_a_call(store, "a", 1000.0)
    disk.full = True
    take_a_call(store, "b", 2000.0)
    assert store.pending and store.last_error == "database or disk is full"
    disk.full = False
    take_a_call(store, "c", 3000.0)  # behind the waiting ones, whatever the disk says now
    assert store.flush() and not store.pending
    assert rows(path / "calls.db") == [("a", "completed"), ("b", "completed"), ("c", "completed")]
    assert events(path / "calls.db") == 6
    assert store.flush()  # nothing left: nothing written twice
    assert events(path / "calls.db") == 6


def test_a_restart_writes_what_the_journal_kept_and_a_crash_after_the_commit_duplicates_nothing(box):
    store, disk, path = box
    disk.full = True
    take_a_call(store, "a", 1000.0)
    take_a_call(store, "b", 2000.0)
    assert len(store.pending) == 4
    before_flush = (path / "calls.journal").read_bytes()

    # A restart while the disk is still full: the new run finds the writes in the journal.
    again = JournaledStore(store.store, Journal(path / "calls.journal"))
    assert [e["op"] for e in again.pending] == ["call_started", "call_ended", "call_started", "call_ended"]
    disk.full = False
    assert again.flush()
    assert rows(path / "calls.db") == [("a", "completed"), ("b", "completed")]

    # A power cut after the commit but before the journal was emptied: the old journal is back.
    (path / "calls.journal").write_bytes(before_flush)
    third = JournaledStore(store.store, Journal(path / "calls.journal"))
    assert third.pending == []
    assert rows(path / "calls.db") == [("a", "completed"), ("b", "completed")] and events(path / "calls.db") == 4
    take_a_call(third, "c", 3000.0)
    assert [r[0] for r in rows(path / "calls.db")] == ["a", "b", "c"]


def test_memory_is_bounded_and_what_could_not_be_kept_is_counted(box):
    store, disk, path = box
    store.max_pending = 3
    disk.full = True
    for n in range(3):
        take_a_call(store, f"c{n}", 1000.0 + n)
    assert len(store.pending) == 3 and store.lost == 3
    disk.full = False
    assert store.flush()
    assert [r[0] for r in rows(path / "calls.db")] == ["c0", "c1"]  # c1's end was lost, its start kept


def test_a_journal_too_small_keeps_the_writes_in_memory_and_says_so(tmp_path):
    store = CallStore(tmp_path / "calls.db")
    disk = FullDisk(store)
    journaled = JournaledStore(store, Journal(tmp_path / "calls.journal", size=200))
    disk.full = True
    take_a_call(journaled, "a", 1000.0)
    assert len(journaled.pending) == 2 and journaled.unjournaled == 1  # the start fits, the record does not
    disk.full = False
    assert journaled.flush() and journaled.unjournaled == 0
    assert rows(tmp_path / "calls.db") == [("a", "completed")]
    assert (tmp_path / "calls.journal").read_bytes() == bytes(200)
    store.close()


def test_a_write_that_is_not_a_storage_fault_still_raises(box):
    store, _disk, _path = box
    with pytest.raises(ValueError, match="no id"):
        store.call_ended({"started_at": 1.0})
    assert not store.pending


def test_a_sealed_journal_holds_no_caller_number_and_a_restart_still_writes_it(tmp_path):
    """The box's privacy key seals each entry: the card never holds the waiting caller's number readable."""
    store = CallStore(tmp_path / "calls.db")
    disk = FullDisk(store)
    secret = bytes(range(32))
    journaled = JournaledStore(store, Journal(tmp_path / "calls.journal", secret=secret))
    disk.full = True
    take_a_call(journaled, "a", 1000.0)
    assert journaled.pending and journaled.unjournaled == 0
    sealed = (tmp_path / "calls.journal").read_bytes()
    assert sealed.strip(b"\0") and b"15550001" not in sealed and b"call_started" not in sealed
    # Another key (a card moved to another box) reads nothing back; the box's own key reads it all.
    assert JournaledStore(store, Journal(tmp_path / "calls.journal", secret=bytes(32))).pending == []
    (tmp_path / "calls.journal").write_bytes(sealed)
    disk.full = False
    again = JournaledStore(store, Journal(tmp_path / "calls.journal", secret=secret))
    assert again.flush() and rows(tmp_path / "calls.db") == [("a", "completed")]
    store.close()


def test_an_interrupted_call_is_closed_once_through_the_journal_and_no_call_of_a_later_run_with_it(tmp_path):
    """The suspected double close: close_interrupted waits in the journal (the disk full at start), calls of
    that run wait behind it, the daemon dies before space returns, and the next run closes interrupted calls
    again. Each call left open is closed once (one call.ended webhook), a call of the later run is not
    closed as interrupted by the earlier run's close, and the outbox says so."""
    from appliance.records.webhooks import Endpoint

    hooks = [Endpoint("https://crm.example.com/hooks", "s" * 32)]
    store = CallStore(tmp_path / "calls.db", webhooks=hooks)
    disk = FullDisk(store)
    store.call_started("old", "gsm1", "+15550001", 1000.0)  # the first run dies during this call

    second = JournaledStore(store, Journal(tmp_path / "calls.journal"))
    disk.full = True
    assert second.close_interrupted() is None  # waits in the journal
    second.call_started("mid", "gsm1", "+15550002", 2000.0)  # a call of the second run, which dies during it

    third = JournaledStore(store, Journal(tmp_path / "calls.journal"))
    assert [e["op"] for e in third.pending] == ["close_interrupted", "call_started"]
    disk.full = False
    third.close_interrupted()  # the third run's own close, behind what the second run left
    assert third.flush() and not third.pending
    third.call_started("new", "gsm1", "+15550003", 3000.0)
    assert third.flush()  # nothing more to write: the second run's close is not replayed on the third's call
    with sqlite3.connect(tmp_path / "calls.db") as conn:
        calls = conn.execute("SELECT id, outcome, ended_at IS NOT NULL FROM calls ORDER BY started_at").fetchall()
        ended = conn.execute("SELECT json_extract(body, '$.data.id'), count(*) FROM webhook_outbox "
                             "WHERE event = 'call.ended' GROUP BY 1 ORDER BY 1").fetchall()
    assert calls == [("old", "interrupted", 1), ("mid", "interrupted", 1), ("new", None, 0)]
    assert ended == [("mid", 1), ("old", 1)]
    store.close()
