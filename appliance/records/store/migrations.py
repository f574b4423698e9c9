"""Numbered schema migrations, applied in order at start; each runs once, in its own transaction."""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
from typing import TYPE_CHECKING, Any

from .callback_days import create as create_callback_days
from .rollups import (
    ROLLUP_STATE,
    ROLLUPS,
    TIME_ROLLUPS,
    TIME_SUMS,
    TRIGGERS,
    backfill_rollups,
    fill_from_quarter_hours,
    make_triggers,
)

if TYPE_CHECKING:
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


# The rollups each migration made (a step keeps doing what it did when it was written).
V6_ROLLUPS = ("stats_slots", "stats_day_counts", "stats_day_operators", "stats_day_handsets")
V9_ROLLUPS = (*V6_ROLLUPS, "stats_hours", "stats_days")


def _m6_stats_rollups(db: sqlite_utils.Database) -> None:
    sums = "INTEGER NOT NULL DEFAULT 0"
    db.execute(f"CREATE TABLE stats_slots (slot INTEGER PRIMARY KEY, "
               f"{', '.join(f'{c} {sums}' for c in ROLLUPS['stats_slots'][2])}, longest_wait REAL)")
    db.execute(f"CREATE TABLE stats_day_counts (day INTEGER NOT NULL, kind TEXT NOT NULL, value NOT NULL, "
               f"n {sums}, PRIMARY KEY (day, kind, value)) WITHOUT ROWID")
    db.execute(f"CREATE TABLE stats_day_operators (day INTEGER NOT NULL, operator TEXT NOT NULL, "
               f"{', '.join(f'{c} {sums}' for c in ROLLUPS['stats_day_operators'][2])}, "
               f"PRIMARY KEY (day, operator)) WITHOUT ROWID")
    db.execute(f"CREATE TABLE stats_day_handsets (day INTEGER NOT NULL, handset TEXT NOT NULL, "
               f"connected {sums}, ring_no_answer {sums}, PRIMARY KEY (day, handset)) WITHOUT ROWID")
    db.execute(f"CREATE TABLE {ROLLUP_STATE} (keep_on_delete INTEGER NOT NULL)")
    db.execute(f"INSERT INTO {ROLLUP_STATE} VALUES (0)")
    backfill_rollups(db, tables=V6_ROLLUPS)
    make_triggers(db, V6_ROLLUPS)


def _m7_heartbeat(db: sqlite_utils.Database) -> None:
    # A live call's heartbeat: when the box last knew it alive and what it knew of it (the record so far, JSON),
    # so a call cut by a crash or a power cut is closed with what was known, ending when it was last alive.
    db["calls"].add_column("last_alive", float)
    db["calls"].add_column("progress", str)
    # A message (or call recording) salvaged after a crash cut it short.
    db["voicemails"].add_column("cut_short", int)
    db["recordings"].add_column("cut_short", int)


def _m8_report_indexes(db: sqlite_utils.Database) -> None:
    # The callbacks report reads its period from the index alone (done_at was a table lookup per callback).
    db.execute("DROP INDEX IF EXISTS idx_callbacks_requested_at_status")
    db.execute("CREATE INDEX IF NOT EXISTS idx_callbacks_report ON callbacks (requested_at, status, done_at)")
    # A search sorts its matches by start time from this index and reads only the page's rows (a notes
    # search matching thousands of calls read each whole row before).
    db.execute("CREATE INDEX IF NOT EXISTS idx_calls_id_started ON calls (id, started_at)")


def _m9_hour_and_day_rollups(db: sqlite_utils.Database) -> None:
    # A year's report read 35,040 quarter-hours (113 ms on 5M calls): the summary now reads whole days and
    # the hourly and daily charts whole hours, with quarter-hours and calls only at the period's edges.
    sums = "INTEGER NOT NULL DEFAULT 0"
    for table in ("stats_hours", "stats_days"):
        key = TIME_ROLLUPS[table][0]
        db.execute(f"CREATE TABLE {table} ({key} INTEGER PRIMARY KEY, "
                   f"{', '.join(f'{c} {sums}' for c in TIME_SUMS)}, longest_wait REAL)")
        fill_from_quarter_hours(db, table)
    # The service level and short abandons read, per wait second up to the threshold, the period's days.
    db.execute("CREATE INDEX idx_day_counts_value ON stats_day_counts (kind, value, day, n)")
    for trigger in TRIGGERS:
        db.execute(f"DROP TRIGGER {trigger}")
    make_triggers(db, V9_ROLLUPS)



def _m10_alerts(db: sqlite_utils.Database) -> None:
    # Every alert the box made (docs/alerts.md): queued, held for quiet hours/rate limit/digest, sent or failed.
    # `digest` names the row that carried a held alert; `attachment` is a voicemail's audio (data-relative path).
    db.execute("CREATE TABLE IF NOT EXISTS alerts (id INTEGER PRIMARY KEY, rule INTEGER, event TEXT NOT NULL, "
               "channel TEXT NOT NULL, recipient TEXT NOT NULL, subject TEXT, body TEXT NOT NULL, attachment TEXT, "
               "state TEXT NOT NULL, created_at REAL NOT NULL, due_at REAL NOT NULL, "
               "attempts INTEGER NOT NULL DEFAULT 0, sent_at REAL, last_error TEXT, digest INTEGER)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_alerts_due ON alerts (state, due_at)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_alerts_created ON alerts (created_at)")


def _m11_text_conversations(db: sqlite_utils.Database) -> None:
    # The two-way text line (docs/texts.md): one conversation per caller at a time, its messages in `sms`.
    # `number` is as the privacy mode keeps it; `sealed` is the number sealed with the box's key (replies need it),
    # deleted with the conversation by retention or the caller's erasure.
    db.execute("CREATE TABLE IF NOT EXISTS conversations (id INTEGER PRIMARY KEY, caller_key TEXT, number TEXT, "
               "sealed TEXT, line TEXT, operator TEXT, state TEXT NOT NULL, opened_at REAL NOT NULL, "
               "updated_at REAL NOT NULL, closed_at REAL, unread INTEGER NOT NULL DEFAULT 0, announced TEXT)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_conversations_caller ON conversations (caller_key, state)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_conversations_updated ON conversations (state, updated_at)")
    if "conversation_id" not in {c[1] for c in db.execute("PRAGMA table_info(sms)").fetchall()}:
        db.execute("ALTER TABLE sms ADD COLUMN conversation_id INTEGER")
        db.execute("ALTER TABLE sms ADD COLUMN author TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS idx_sms_conversation ON sms (conversation_id, at)")


def _m12_caller_risk(db: sqlite_utils.Database) -> None:
    # A caller at risk and their safety plan (docs/records.md), keyed like every caller's data by pseudonym key:
    # shown on the console from the first ring of their next call.
    db.execute("CREATE TABLE IF NOT EXISTS caller_risk (caller_key TEXT PRIMARY KEY, risk INTEGER NOT NULL, "
               "reason TEXT, safety_plan TEXT, updated_at REAL NOT NULL, updated_by TEXT)")


def _m13_voicemail_transcripts(db: sqlite_utils.Database) -> None:
    # A voicemail's text, made after the call (docs/speech.md); it goes with its row (retention, erasure).
    if "transcript" not in {c[1] for c in db.execute("PRAGMA table_info(voicemails)").fetchall()}:
        db.execute("ALTER TABLE voicemails ADD COLUMN transcript TEXT")


def _m14_callback_days(db: sqlite_utils.Database) -> None:
    create_callback_days(db)


def _m15_alert_callers(db: sqlite_utils.Database) -> None:
    # Which caller an alert tells of (their pseudonym key), so erasing the caller finds its text (docs/privacy.md).
    if "caller_key" not in {c[1] for c in db.execute("PRAGMA table_info(alerts)").fetchall()}:
        db.execute("ALTER TABLE alerts ADD COLUMN caller_key TEXT")


def _m16_notes_by_time(db: sqlite_utils.Database) -> None:
    # The notes search reads matching notes newest first and stops once its page is complete (CallLog.search):
    # that needs the notes by time (with their call, so the walk reads no table rows), and no note stamped
    # before its call began. Only a clock step could have stamped one so; it is moved to its call's start.
    db.execute("UPDATE notes SET at = (SELECT c.started_at FROM calls c WHERE c.id = notes.call_id) "
               "WHERE at < (SELECT c.started_at FROM calls c WHERE c.id = notes.call_id)")
    db.execute("CREATE INDEX IF NOT EXISTS idx_notes_at ON notes (at, call_id)")


# A note's place in the notes search: its call's start in milliseconds, then the note (20 bits), so a search
# reads its pages from the full-text index in the calls' order (CallLog.page). Two notes collide only when
# their calls began in the same millisecond and their ids differ by a multiple of 2**20.
NOTE_PLACE_BITS = 20
_NOTE_PLACE = f"(CAST({{started}} * 1000 AS INTEGER) << {NOTE_PLACE_BITS}) + ({{note}} & {(1 << NOTE_PLACE_BITS) - 1})"


def note_place(started: str, note: str) -> str:
    """The SQL of a note's place from the SQL of its call's start and of its id."""
    return _NOTE_PLACE.format(started=started, note=note)


def _m17_notes_in_call_order(db: sqlite_utils.Database) -> None:
    # The notes search pages by a cursor (the last call's start), not an offset: its full-text index is keyed by
    # each note's place (above), so the page after a call is a range of the index read newest first and stopped
    # once full, however deep. Kept in step by triggers, also when a call's start is moved (clock set, restamp).
    if "sort_key" not in {c[1] for c in db.execute("PRAGMA table_info(notes)").fetchall()}:
        db.execute("ALTER TABLE notes ADD COLUMN sort_key INTEGER")
    started = "COALESCE((SELECT c.started_at FROM calls c WHERE c.id = notes.call_id), notes.at)"
    db.execute(f"UPDATE notes SET sort_key = {note_place(started, 'notes.id')}")
    db.execute("CREATE INDEX IF NOT EXISTS idx_notes_sort ON notes (sort_key, call_id)")
    for trigger in ("notes_ai", "notes_ad", "calls_notes_moved"):  # (a step run again makes them anew)
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS notes_fts")
    db.execute("CREATE VIRTUAL TABLE notes_fts USING fts5(text, content='notes', content_rowid='sort_key')")
    db.execute("INSERT INTO notes_fts(notes_fts) VALUES ('rebuild')")
    placed = note_place("COALESCE((SELECT c.started_at FROM calls c WHERE c.id = new.call_id), new.at)", "new.id")
    db.execute(f"CREATE TRIGGER notes_ai AFTER INSERT ON notes BEGIN "
               f"UPDATE notes SET sort_key = {placed} WHERE id = new.id; "
               f"INSERT INTO notes_fts(rowid, text) SELECT sort_key, text FROM notes WHERE id = new.id; END")
    db.execute("CREATE TRIGGER notes_ad AFTER DELETE ON notes BEGIN "
               "INSERT INTO notes_fts(notes_fts, rowid, text) VALUES ('delete', old.sort_key, old.text); END")
    db.execute(f"CREATE TRIGGER calls_notes_moved AFTER UPDATE OF started_at ON calls "
               f"WHEN new.started_at IS NOT old.started_at BEGIN "
               f"INSERT INTO notes_fts(notes_fts, rowid, text) SELECT 'delete', sort_key, text FROM notes "
               f"WHERE call_id = new.id; "
               f"UPDATE notes SET sort_key = {note_place('new.started_at', 'id')} WHERE call_id = new.id; "
               f"INSERT INTO notes_fts(rowid, text) SELECT sort_key, text FROM notes WHERE call_id = new.id; END")


def _m18_rollup_triggers_per_row(db: sqlite_utils.Database) -> None:
    # The rollup triggers fold their one row with plain expressions, not the backfill's GROUP BY over a one-row
    # source: each statement that can fire them (the writer caches them for life) holds a fraction of the code.
    for trigger in TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    make_triggers(db, V9_ROLLUPS)


MIGRATIONS = [_m1_calls, _m2_timeline, _m3_caller_data, _m4_outbox, _m5_callback_requests, _m6_stats_rollups,
              _m7_heartbeat, _m8_report_indexes, _m9_hour_and_day_rollups, _m10_alerts,
              _m11_text_conversations, _m12_caller_risk, _m13_voicemail_transcripts,
              _m14_callback_days, _m15_alert_callers, _m16_notes_by_time, _m17_notes_in_call_order,
              _m18_rollup_triggers_per_row]


def migrate(db: Any, migrations: list | None = None, *, here: bool = False) -> int:
    """Bring the schema up to date; return the version now in force. `here`: in this process, which is a child
    made for it (service/schemas_ahead.py).

    `db` is a sqlite-utils Database or anything with its `conn` (the daemon's lite.Database). sqlite-utils,
    which the steps are written in, is loaded only when a step is due (a first start, an upgrade), and then
    in a child process forked for it where it can be (`_apart`): with click, pluggy, dateutil, email and
    OpenSSL it would stay in the daemon for as long as it runs (~11 MB of a Pi Zero's memory), and a box runs
    for months after its first start.
    """
    steps = MIGRATIONS if migrations is None else migrations
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
    current = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0]
    if current > len(steps):
        raise RuntimeError(f"database schema version {current} is newer than this software ({len(steps)})")
    if current < len(steps) and (here or not _apart(db.conn, steps, current)):
        _apply(db.conn, steps, current)
    return len(steps)


def _apply(conn: sqlite3.Connection, steps: list, current: int) -> None:
    from . import sqlite_utils_without_numpy

    # No plugins: the steps use none of their SQL functions, and finding them scans the entry points of every
    # installed package (~14 ms of CPU on a first start, in the schema child the daemon waits for).
    db = sqlite_utils_without_numpy().Database(conn, execute_plugins=False)
    for version, step in enumerate(steps[current:], start=current + 1):
        # Steps use execute() only (executescript would commit mid-step), so a failed step rolls back whole.
        with db.atomic():
            step(db)
            db.execute("INSERT INTO schema_migrations VALUES (?, datetime('now'))", [version])
        log.info("database migrated to version %d (%s)", version, step.__name__)


def _apart(conn: sqlite3.Connection, steps: list, current: int) -> bool:
    """Apply the due steps in a forked child on its own connection; False where that cannot be done (no fork,
    a database in memory or opened for this process alone, a transaction open, or other threads running, as
    in the simulation: one of them could hold a lock the child would then wait for forever), to apply them here.
    `hotline run` opens its call log before it starts a thread.

    A failed step is raised here as the child met it (a DatabaseError stays one: `hotline run` reports it)."""
    path = next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "")
    if not hasattr(os, "fork") or not path or conn.in_transaction or "sqlite_utils" in sys.modules or \
            threading.active_count() > 1 or conn.execute("PRAGMA locking_mode").fetchone()[0].lower() == "exclusive":
        return False
    timeout = 10.0
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the daemon's code, whatever happens
        status = 1
        try:
            os.close(reading)
            child = sqlite3.connect(path, timeout=timeout)
            child.execute("PRAGMA synchronous=NORMAL")  # as the daemon's own connection: no fsync per step in WAL
            _apply(child, steps, current)
            child.close()
            status = 0
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent, which raises it
            os.write(writing, f"{type(exc).__name__}\n{exc}".encode(errors="replace")[:4000])
        finally:
            os._exit(status)
    os.close(writing)
    with os.fdopen(reading, "rb") as pipe:
        told = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if status == 0:
        return True
    kind, _, text = told.partition("\n")
    error = sqlite3.DatabaseError if kind in _DATABASE_ERRORS else RuntimeError
    raise error(text or f"the schema migration of {path} ended with status {status}")


_DATABASE_ERRORS = {"DatabaseError", "OperationalError", "IntegrityError", "ProgrammingError", "DataError",
                    "NotSupportedError", "InternalError"}
