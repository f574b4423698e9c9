"""Numbered schema migrations, applied in order at start; each runs once, in its own transaction."""

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


def _m2_timeline(db: sqlite_utils.Database) -> None:
    calls = db["calls"]
    # Milestones folded from the event timeline when the call is written, so the dashboard reads one index.
    for name, kind in (
        ("caller_key", str), ("queued_at", float), ("connected_at", float), ("survey_score", int),
        ("call_type", str), ("category", str), ("extra", str),
    ):
        calls.add_column(name, kind)
    db.execute("DROP INDEX IF EXISTS idx_calls_started_at")
    # Covering index for every dashboard figure over a date range: no table lookups.
    db.execute(
        "CREATE INDEX idx_calls_stats ON calls (started_at, outcome, queued_at, connected_at, wait_seconds, "
        "talk_seconds, survey_score, operator, call_type)"
    )
    db.execute("CREATE INDEX idx_calls_caller ON calls (caller_key, started_at, outcome)")  # history: no lookups
    db.execute("CREATE INDEX idx_calls_open ON calls (ended_at) WHERE ended_at IS NULL")
    db["call_events"].create(
        {"id": int, "call_id": str, "at": float, "event": str, "handset": str, "detail": str}, pk="id",
        foreign_keys=[("call_id", "calls", "id")],
    )
    db.execute("CREATE INDEX idx_events_call ON call_events (call_id, at)")
    db.execute("CREATE INDEX idx_events_kind ON call_events (event, at, handset)")


def _m3_caller_data(db: sqlite_utils.Database) -> None:
    db["voicemails"].create(
        {"id": int, "call_id": str, "caller_key": str, "at": float, "path": str, "seconds": float,
         "listened_at": float}, pk="id")
    db["recordings"].create({"id": int, "call_id": str, "at": float, "path": str, "seconds": float}, pk="id")
    db["callbacks"].create(
        {"id": int, "call_id": str, "caller_key": str, "number": str, "requested_at": float, "status": str,
         "done_at": float, "done_by": str}, pk="id")
    db["surveys"].create({"id": int, "call_id": str, "at": float, "score": int}, pk="id")
    db["sms"].create(
        {"id": int, "line": str, "direction": str, "caller_key": str, "number": str, "at": float, "text": str},
        pk="id")
    db["notes"].create(
        {"id": int, "call_id": str, "caller_key": str, "at": float, "author": str, "text": str}, pk="id")
    db["tickets"].create(
        {"id": int, "call_id": str, "caller_key": str, "title": str, "status": str, "assignee": str,
         "created_at": float, "updated_at": float, "closed_at": float, "created_by": str}, pk="id")
    db["contacts"].create(
        {"caller_key": str, "number": str, "name": str, "note": str, "updated_at": float, "updated_by": str},
        pk="caller_key")
    for table, columns in (
        ("voicemails", ["at"]), ("voicemails", ["call_id"]), ("voicemails", ["caller_key"]),
        ("recordings", ["at"]), ("recordings", ["call_id"]),
        ("callbacks", ["requested_at", "status"]), ("callbacks", ["caller_key"]), ("callbacks", ["call_id"]),
        ("surveys", ["call_id"]), ("sms", ["at"]), ("sms", ["caller_key"]),
        ("notes", ["call_id"]), ("notes", ["caller_key"]), ("tickets", ["status", "updated_at"]),
        ("tickets", ["caller_key"]), ("tickets", ["call_id"]),
    ):
        db[table].create_index(columns)
    # Full-text search over operators' notes, kept in step by triggers.
    db.execute("CREATE VIRTUAL TABLE notes_fts USING fts5(text, content='notes', content_rowid='id')")
    db.execute("CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN "
               "INSERT INTO notes_fts(rowid, text) VALUES (new.id, new.text); END")
    db.execute("CREATE TRIGGER notes_ad AFTER DELETE ON notes BEGIN "
               "INSERT INTO notes_fts(notes_fts, rowid, text) VALUES ('delete', old.id, old.text); END")


def _m4_outbox(db: sqlite_utils.Database) -> None:
    db["webhook_outbox"].create(
        {"id": int, "url": str, "event": str, "body": str, "created_at": float, "attempts": int,
         "next_attempt_at": float, "delivered_at": float, "failed_at": float, "last_error": str},
        pk="id", defaults={"attempts": 0},
    )
    db.execute("CREATE INDEX idx_outbox_due ON webhook_outbox (next_attempt_at) "
               "WHERE delivered_at IS NULL AND failed_at IS NULL")


def _m5_callback_requests(db: sqlite_utils.Database) -> None:
    """Callbacks are tracked by the core's request id through every attempt, not only requested and done."""
    for column, kind in (("request_id", str), ("attempts", int), ("detail", str), ("updated_at", float)):
        db["callbacks"].add_column(column, kind)
    db.execute("CREATE UNIQUE INDEX idx_callbacks_request ON callbacks (request_id)")


MIGRATIONS = [_m1_calls, _m2_timeline, _m3_caller_data, _m4_outbox, _m5_callback_requests]


def migrate(db: sqlite_utils.Database, migrations: list | None = None) -> int:
    """Bring the schema up to date; return the version now in force."""
    steps = MIGRATIONS if migrations is None else migrations
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
    current = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
    if current > len(steps):
        raise RuntimeError(f"database schema version {current} is newer than this software ({len(steps)})")
    for version, step in enumerate(steps[current:], start=current + 1):
        # Steps use execute() only (executescript would commit mid-step), so a failed step rolls back whole.
        with db.atomic():
            step(db)
            db.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", [version])
        log.info("database migrated to version %d (%s)", version, step.__name__)
    return len(steps)
