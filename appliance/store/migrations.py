"""Numbered schema migrations, applied in order at start; each runs once."""

from __future__ import annotations

import logging

import sqlite_utils

log = logging.getLogger(__name__)


def _m1_calls(db: sqlite_utils.Database) -> None:
    db["calls"].create(
        {
            "id": str, "line": str, "caller": str, "started_at": float, "answered_at": float, "ended_at": float,
            "menu_path": str, "nodes": str, "skill": str, "handset": str, "operator": str,
            "wait_seconds": float, "talk_seconds": float, "outcome": str, "ended_by": str, "reason": str,
        },
        pk="id",
    )
    db["calls"].create_index(["started_at"])


MIGRATIONS = [_m1_calls]


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the schema up to date; return the version now in force."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
    current = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
    if current > len(MIGRATIONS):
        raise RuntimeError(f"database schema version {current} is newer than this software ({len(MIGRATIONS)})")
    for version, step in enumerate(MIGRATIONS[current:], start=current + 1):
        with db.conn:
            step(db)
            db.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", [version])
        log.info("database migrated to version %d (%s)", version, step.__name__)
    return len(MIGRATIONS)
