"""The call log's readers: one read-only connection per thread, reopened when the database file is replaced."""

from __future__ import annotations

import os
import sqlite3
import threading

from appliance.records.store import queries
from appliance.records.store.queries import CallLog


def make_db(path, callers: list[str]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE calls (id TEXT PRIMARY KEY, started_at REAL, caller TEXT)")
        conn.executemany("INSERT INTO calls VALUES (?, ?, ?)", [(f"c{i}", i, c) for i, c in enumerate(callers)])
    conn.close()


def test_queries_on_one_thread_share_a_connection_and_a_restored_file_is_read_fresh(tmp_path, monkeypatch):
    db = tmp_path / "calls.db"
    make_db(db, ["+1", "+2"])
    opened = []
    real = sqlite3.connect
    def counted(*args, **kw):
        if kw.get("uri"):  # the call log's read-only connections, not the test's own
            opened.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(queries.sqlite3, "connect", counted)
    log = CallLog(db)
    for _ in range(12):  # a dashboard's worth of queries
        assert [r["caller"] for r in log.recent(10)] == ["+2", "+1"]
    assert len(opened) == 1
    other = tmp_path / "restored.db"
    make_db(other, ["+3"])
    os.replace(other, db)  # a restore puts a new file in place
    assert [r["caller"] for r in log.recent(10)] == ["+3"]
    elsewhere: list[list[str]] = []
    thread = threading.Thread(target=lambda: elsewhere.append([r["caller"] for r in log.recent(10)]))
    thread.start()
    thread.join()
    assert elsewhere == [["+3"]] and len(opened) == 3  # each thread its own connection
