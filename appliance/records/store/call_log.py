"""The call log at start: a restored log swapped in safely, a damaged one found and handed to salvage.py.

Nothing here ever leaves the box without a call log: a restore that is not a sound hotline database is
refused and the log in use stays; a log that fails its check is moved aside under a time stamp (never
deleted), what can be read from it is copied into a fresh log (salvage.py, imported only then: a box's log is
sound at nearly every start), and the box takes calls again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from appliance.files import atomic_write, fsync_dir

from .migrations import MIGRATIONS

log = logging.getLogger(__name__)

CALLS_VERSION = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
_HEADER = b"SQLite format 3\x00"
_COMPANIONS = ("", "-wal", "-shm", "-journal")
Alarm = Callable[[str, str], None]  # (kind, message)
T = TypeVar("T")


def database_problem(path: Path, *, version_query: str | None = CALLS_VERSION, newest: int = len(MIGRATIONS),
                     quick: bool = False, damage_only: bool = False) -> str | None:
    """What is wrong with an SQLite file as a hotline database, in words; None when it is sound.

    Checks the header, PRAGMA integrity_check (quick_check at start, where a big log must not hold up
    the first call for long) and that its schema version is one this software knows (version_query None:
    only whether it is sound, as at start, where a newer schema is refused by the migrations instead).
    damage_only: only damage is a problem; a file that cannot be read for another reason (a full disk, a
    lock, permissions) is left to fail where it is opened, so a sound log is never moved aside for it.
    """
    try:
        with open(path, "rb") as file:
            header = file.read(len(_HEADER))
    except OSError as exc:
        return None if damage_only else f"cannot be read ({exc.strerror})"
    if header != _HEADER:
        return "is not an SQLite database"
    try:
        conn = sqlite3.connect(path, timeout=10)
    except sqlite3.Error as exc:
        return None if damage_only and not _damage(exc) else f"cannot be opened ({exc})"
    try:
        found = [row[0] for row in conn.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check")]
        if found != ["ok"]:
            return "is damaged (integrity check: " + "; ".join(str(f) for f in found[:3]) + ")"
        if version_query is None:
            return None
        try:
            version = conn.execute(version_query).fetchone()[0]
        except sqlite3.Error:
            return "is not a hotline database (it has no schema version)"
    except sqlite3.Error as exc:
        if damage_only and not _damage(exc):
            return None
        return f"is damaged ({exc})" if _damage(exc) else f"cannot be read ({exc})"
    finally:
        conn.close()
    if not isinstance(version, int) or version < 1:
        return "is not a hotline database (it has no schema version)"
    if version > newest:
        return f"comes from newer hotline software (schema version {version}; this box knows up to {newest})"
    return None


def _damage(exc: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT or SQLITE_NOTADB: the file itself is bad (not a full disk, a lock or permissions)."""
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


def move_database(source: Path, target: Path) -> None:
    """Rename a database with its WAL and shared-memory files, so the moved copy keeps every commit."""
    for suffix in _COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{source}{suffix}", f"{target}{suffix}")
    fsync_dir(source.parent)


def remove_database(path: Path) -> None:
    for suffix in _COMPANIONS:
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def swap_in_restore(db: Path, stamp: str, alarm: Alarm) -> Path | None:
    """Put a restored call log (db.restore, left by the web page) in place of db, after checking it.

    Returns where the replaced log was kept aside (to be removed once the restored one has opened), or
    None when there was nothing to restore or the restore was refused.
    """
    restored = db.with_name(db.name + ".restore")
    if not restored.exists():
        return None
    problem = database_problem(restored)
    if problem:
        refused = db.with_name(f"{db.name}.restore-refused-{stamp}")
        move_database(restored, refused)
        alarm("restore", f"the call log restored from a backup was not used: it {problem}. The call log in "
                         f"use is unchanged; the refused file is kept as {refused.name}")
        return None
    kept = db.with_name(f"{db.name}.before-restore-{stamp}")
    if db.exists():
        move_database(db, kept)
    move_database(restored, db)
    log.warning("call records restored from a backup (the replaced log is kept as %s until it opens)", kept.name)
    return kept


def undo_restore(db: Path, kept: Path, stamp: str, reason: str, alarm: Alarm) -> None:
    """The restored log would not open: the log it replaced goes back, the restored one is kept aside."""
    refused = db.with_name(f"{db.name}.restore-refused-{stamp}")
    move_database(db, refused)
    if Path(kept).exists():
        move_database(kept, db)
    alarm("restore", f"the call log restored from a backup would not open ({reason}); the previous call log "
                     f"is back in use and the restored file is kept as {refused.name}")


# The check reads the whole log (PRAGMA quick_check: ~9 ms of CPU per MB here, 7.7 s of CPU and 40 s of wall
# time for the bench's 1M-call, 850 MB log; ten times that on a Pi): a log bigger than this (~2,500 calls) is
# checked after READY=1 instead (`check_after_start`), and damage found there is salvaged at the next start
# from the note it leaves.
CHECKED_AT_START = 2 * 1024 * 1024


def _damage_note(db: Path) -> Path:
    return db.with_name(db.name + ".damaged")


def too_big_to_check_at_start(db: Path) -> bool:
    try:
        return db.stat().st_size > CHECKED_AT_START
    except OSError:
        return False


def check_after_start(db: Path) -> str | None:
    """The whole check of a log too big for the start: its problem, noted beside it so the next start moves
    it aside and salvages it (off the loop: it takes seconds to minutes)."""
    problem = database_problem(db, version_query=None, quick=True, damage_only=True)
    if problem:
        atomic_write(_damage_note(db), problem, mode=0o644)
    return problem


def open_call_log(db: Path, open_store: Callable[[], T], alarm: Alarm, now: float) -> T:
    """Open the call log at start: a pending restore swapped in, a corrupt log salvaged, never none at all."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    kept = swap_in_restore(db, stamp, alarm)
    note = _damage_note(db)
    if kept is not None:
        note.unlink(missing_ok=True)  # about the log the restore replaced
    if db.exists() and db.stat().st_size > 0:  # an empty file is a new database to SQLite
        try:
            problem: str | None = note.read_text(encoding="utf-8").strip() or "is damaged"
        except OSError:  # no note (or none that can be read): as the log's size allows
            problem = None if too_big_to_check_at_start(db) else \
                database_problem(db, version_query=None, quick=True, damage_only=True)
        if problem:
            from .salvage import salvage_corrupt

            salvage_corrupt(db, problem, stamp, alarm)
    note.unlink(missing_ok=True)
    try:
        store = open_store()
    except sqlite3.DatabaseError as exc:
        if kept is None:
            raise
        undo_restore(db, kept, stamp, str(exc), alarm)
        return open_store()
    if kept is not None:
        remove_database(kept)  # the restored log has opened: the one it replaced is no longer needed
    return store


