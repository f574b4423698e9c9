"""Records made before the wall clock was set are moved to the true time once it is.

A Pi boots with no real-time clock: until NTP sets the time the daemon stamps records from the
monotonic clock plus one fixed offset (appliance.core.clock.BoxClock), so every stamp made meanwhile is
off by the same amount. Once the time is set, the rows written since the daemon started (rowid above the
watermark taken at start) whose stamps fall in the span the provisional clock covered move by that amount.
"""

from __future__ import annotations

import sqlite_utils

# Every wall-clock stamp the daemon writes, by table.
STAMPS: dict[str, tuple[str, ...]] = {
    "calls": ("started_at", "answered_at", "ended_at", "queued_at", "connected_at", "last_alive"),
    "call_events": ("at",),
    "voicemails": ("at", "listened_at"),
    "recordings": ("at",),
    "callbacks": ("requested_at", "done_at", "updated_at"),
    "surveys": ("at",),
    "sms": ("at",),
    "notes": ("at",),
    "tickets": ("created_at", "updated_at", "closed_at"),
    "contacts": ("updated_at",),
    "webhook_outbox": ("created_at", "next_attempt_at", "delivered_at", "failed_at"),
}


def watermarks(db: sqlite_utils.Database) -> dict[str, int]:
    """The highest rowid of each stamped table: rows above it are this run's."""
    return {table: db.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}").fetchone()[0] for table in STAMPS}


def restamp(db: sqlite_utils.Database, since: dict[str, int], span: tuple[float, float], delta: float) -> int:
    """Add `delta` seconds to the stamps in `span` of rows written after `since`; returns the rows moved."""
    low, high = span
    moved = 0
    with db.atomic():  # all or nothing: a half-moved call would have its end before its start
        for table, columns in STAMPS.items():
            where = f"rowid > ? AND ({' OR '.join(f'{c} BETWEEN ? AND ?' for c in columns)})"
            moved += db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}",
                                [since[table], *[low, high] * len(columns)]).fetchone()[0]
            for column in columns:
                db.execute(f"UPDATE {table} SET {column} = {column} + ? WHERE rowid > ? AND {column} BETWEEN ? AND ?",
                           [delta, since[table], low, high])
    return moved
