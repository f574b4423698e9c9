"""kill -9 in the middle of calls leaves a consistent database, and the restart closes the open calls."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from appliance.records.store.calls import CallStore

ROOT = Path(__file__).resolve().parents[2]
EVENTS_PER_CALL = 40

# A daemon-shaped writer: one call left ringing forever, then calls written back to back as fast as it can.
WRITER = f"""
import sys
from appliance.records.store.calls import CallStore
store = CallStore(sys.argv[1])
store.call_started("open", "gsm1", "+79160000000", 1.0)
n = 0
while True:
    start = 100.0 + n
    store.call_started(f"c{{n}}", "gsm2", "+7916%07d" % n, start)
    events = [{{"at": start + i / 100, "event": "KEY", "handset": None, "detail": str(i % 10)}}
              for i in range({EVENTS_PER_CALL})]
    store.call_ended({{"id": f"c{{n}}", "line": "gsm2", "caller": "+7916%07d" % n, "started_at": start,
                      "ended_at": start + 1, "outcome": "completed", "events": events}})
    n += 1
    if n == 20:
        print("busy", flush=True)
"""


def test_sigkill_mid_write_leaves_a_consistent_database_and_open_calls_are_closed(tmp_path):
    path = tmp_path / "calls.db"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert writer.stdout.readline().strip() == "busy"
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(10) == -signal.SIGKILL
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.stdout.close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # Every finished call has its whole timeline: no call was half-written.
        counts = conn.execute("SELECT c.id, COUNT(e.id) FROM calls c LEFT JOIN call_events e ON e.call_id = c.id "
                              "WHERE c.ended_at IS NOT NULL GROUP BY c.id").fetchall()
        assert len(counts) >= 20 and all(n == EVENTS_PER_CALL for _, n in counts)
        open_before = {row[0] for row in conn.execute("SELECT id FROM calls WHERE ended_at IS NULL")}
    assert "open" in open_before

    store = CallStore(path)  # what the daemon does on restart
    try:
        assert store.close_interrupted() == len(open_before)
        marks = ",".join("?" * len(open_before))
        rows = store.db.execute(f"SELECT id, outcome, started_at, ended_at FROM calls WHERE id IN ({marks})",
                                list(open_before)).fetchall()
        # No heartbeat came after their start: that is the last moment they were known alive.
        assert {outcome for _, outcome, _, _ in rows} == {"interrupted"}
        assert all(ended == started for _, _, started, ended in rows)
        assert store.db.execute("SELECT COUNT(*) FROM calls WHERE ended_at IS NULL").fetchone()[0] == 0
        assert store.close_interrupted() == 0  # closed once, not again
    finally:
        store.close()
