"""The call log: the daemon writes it, everyone else reads it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from .migrations import migrate


class CallStore:
    """The daemon's writer. A call costs two transactions: one when it starts, one when it ends."""

    def __init__(self, path: str | Path) -> None:
        self.db = sqlite_utils.Database(sqlite3.connect(str(path), check_same_thread=False))
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives power cuts without a sync per write
        migrate(self.db)

    def close_interrupted(self, now: float) -> int:
        """Calls the daemon never finished (a crash, a power cut) are closed, not left open forever."""
        with self.db.conn:
            cursor = self.db.execute(
                "UPDATE calls SET ended_at = ?, outcome = 'interrupted', ended_by = 'system', "
                "reason = 'the daemon stopped during the call' WHERE ended_at IS NULL",
                [now],
            )
        return cursor.rowcount

    def call_started(self, call_id: str, line: str, caller: str | None, started_at: float) -> None:
        with self.db.conn:
            self.db["calls"].insert({"id": call_id, "line": line, "caller": caller, "started_at": started_at})

    def call_ended(self, record: dict) -> None:
        with self.db.conn:
            self.db["calls"].upsert(record, pk="id")

    def close(self) -> None:
        self.db.close()


class CallLog:
    """A reader for the web app: its own read-only connection, so it never blocks the daemon's writes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        return conn

    def recent(self, limit: int = 50, offset: int = 0) -> list[dict]:
        if not self.path.exists():
            return []
        conn = self._connect()
        try:
            rows = conn.execute("SELECT * FROM calls ORDER BY started_at DESC LIMIT ? OFFSET ?", [limit, offset])
            return [dict(row) for row in rows]
        finally:
            conn.close()
