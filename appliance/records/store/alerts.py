"""The alert log in calls.db: every alert the box made, from queued to sent (or failed), and held ones.

The alert sender's thread writes it on its own connection (the daemon's loop never waits on it); the web
app reads the newest rows through `recent` on the call log's read-only connection. A row's life:

    queued --sent--> sent          held (quiet hours, rate limit, digest) --due--> merged into a digest row
       \\--failed, attempts left--> queued again later (backoff) --attempts spent--> failed
    awaiting (a voicemail's transcript, bounded) --transcript or due--> queued or held
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from .queries import _reader

LIMIT = 200  # rows the web page lists
STATES = ("awaiting", "queued", "held", "merged", "sent", "failed")


class AlertLog:
    """The sender's writer (one thread); `recent` is the web's read."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=10)
        self._conn.row_factory = sqlite3.Row

    def add(self, row: dict[str, Any]) -> int:
        columns = list(row)
        with self._conn:
            cursor = self._conn.execute(f"INSERT INTO alerts ({', '.join(columns)}) VALUES "
                                        f"({', '.join('?' * len(columns))})", [row[c] for c in columns])
        return int(cursor.lastrowid or 0)

    def update(self, alert_id: int, **changes: Any) -> None:
        with self._conn:
            self._conn.execute(f"UPDATE alerts SET {', '.join(f'{c} = ?' for c in changes)} WHERE id = ?",
                               [*changes.values(), alert_id])

    def due(self, state: str, now: float) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn.execute("SELECT * FROM alerts WHERE state = ? AND due_at <= ? "
                                                    "ORDER BY id", [state, now])]

    def get(self, alert_id: int) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT * FROM alerts WHERE id = ?", [alert_id]).fetchone()
        return dict(row) if row else None

    def next_due(self) -> float | None:
        return self._conn.execute("SELECT MIN(due_at) FROM alerts WHERE state IN ('awaiting', 'queued', 'held')"
                                  ).fetchone()[0]

    def held_for(self, rule: int, recipient: str) -> float | None:
        """When the alerts already held for this rule and recipient go out (a new one joins them)."""
        return self._conn.execute("SELECT MAX(due_at) FROM alerts WHERE state = 'held' AND rule = ? AND "
                                  "recipient = ?", [rule, recipient]).fetchone()[0]

    def sent_since(self, rule: int, recipient: str, since: float) -> list[float]:
        """When messages of this rule went (or were queued) to this recipient since `since`: the rate limit's count."""
        return [r[0] for r in self._conn.execute(
            "SELECT created_at FROM alerts WHERE rule = ? AND recipient = ? AND created_at >= ? AND state IN "
            "('queued', 'sent', 'failed') ORDER BY created_at", [rule, recipient, since])]

    def merge(self, ids: list[int], into: int) -> None:
        with self._conn:
            self._conn.executemany("UPDATE alerts SET state = 'merged', digest = ? WHERE id = ?",
                                   [(into, i) for i in ids])

    def voicemail_kept(self, call_id: str) -> bool:
        """Whether the call's voicemail is still on the box (not erased with its caller, not expired)."""
        return self._conn.execute("SELECT 1 FROM voicemails WHERE call_id = ?", [call_id]).fetchone() is not None

    def close(self) -> None:
        self._conn.close()


def recent(path: str | Path, limit: int = LIMIT) -> list[dict[str, Any]]:
    """The newest alerts for the web page (empty before the daemon made the table)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        return [dict(r) for r in _reader(path).execute(
            "SELECT id, event, channel, recipient, subject, state, created_at, sent_at, attempts, last_error, "
            "digest, attachment IS NOT NULL AS attached FROM alerts ORDER BY id DESC LIMIT ?", [limit])]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
