"""Waiting for a call's record in calls.db, for a test that awaits the record itself (a caller ending the call
with a key, say) rather than the status.

A test that waits for the status to show the call gone asks it through the loop (tests/support/status.py), as
the web page does: by then the record is written, and nothing here is needed.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from tests.support.waiting import wait_until


def finished_record(data: Path, call_id: str) -> dict[str, Any] | None:
    """The call's row once its end is written (ended_at set), else None."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{data / 'calls.db'}?mode=ro", uri=True)) as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM calls WHERE id = ? AND ended_at IS NOT NULL", (call_id,)).fetchone()
    except sqlite3.OperationalError:  # no database yet, or the daemon holds it for a moment
        return None
    return dict(row) if row else None


def wait_for_record(data: Path, call_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The call's finished row in data/calls.db, waited for (AssertionError naming the call after `timeout`)."""
    return wait_until(lambda: finished_record(data, call_id), timeout, f"call {call_id}'s record to be written")
