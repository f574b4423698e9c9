"""The call log at start: a restored log swapped in safely, a corrupt one moved aside and salvaged.

Nothing here ever leaves the box without a call log: a restore that is not a sound hotline database is
refused and the log in use stays; a log that fails its check is moved aside under a time stamp (never
deleted), what can be read from it is copied into a fresh log, and the box takes calls again.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from appliance.files import atomic_write, fsync_dir

from . import sqlite_utils_without_numpy
from .migrations import MIGRATIONS, migrate
from .rollups import TIME_ROLLUPS, fill_from_quarter_hours

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


def salvage_corrupt(db: Path, problem: str, stamp: str, alarm: Alarm) -> None:
    """Move a corrupt log aside, start a fresh one and copy into it every row that can still be read."""
    import tempfile  # only for a damaged log: with the shutil, bz2 and lzma it imports, not held by an idle daemon

    aside = db.with_name(f"{db.name}.corrupt-{stamp}")
    move_database(db, aside)
    fresh = sqlite_utils_without_numpy().Database(sqlite3.connect(db), execute_plugins=False)  # as migrations._apply
    try:
        migrate(fresh)
        with tempfile.TemporaryDirectory(prefix=".salvage-", dir=db.parent) as scratch:
            source, how = _recovered(aside, Path(scratch) / "recovered.db")
            calls = _copy_rows(source, fresh.conn)
    finally:
        fresh.conn.close()
    alarm("database", f"the call log {db.name} {problem}: it was moved aside as {aside.name}, a fresh log was "
                      f"started and {calls} call record(s) were recovered from the old one ({how})")


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


def _recovered(corrupt: Path, scratch: Path) -> tuple[Path, str]:
    """A readable copy of what sqlite3's .recover finds; the corrupt file itself when the CLI is missing."""
    import shutil  # only for a damaged log, as subprocess: an idle daemon holds neither
    import subprocess

    cli = shutil.which("sqlite3")
    if cli is None:
        return corrupt, "read row by row"
    try:
        dump = subprocess.run([cli, str(corrupt), ".recover"], capture_output=True, timeout=600, check=False)
        if dump.returncode == 0:
            load = subprocess.run([cli, str(scratch)], input=dump.stdout, capture_output=True, timeout=600,
                                  check=False)
            if load.returncode == 0:
                return scratch, "sqlite3 .recover"
        # Some builds' .recover fails outright (Debian 12's 3.40.1 does, even on a sound file).
        reason = (dump.stderr or b"").decode(errors="replace").strip() or f"exit {dump.returncode}"
    except (OSError, subprocess.SubprocessError) as exc:
        reason = str(exc)
    log.warning("sqlite3 .recover failed (%s): reading row by row instead", reason)
    return corrupt, "read row by row"


def _copy_rows(source: Path, fresh: sqlite3.Connection) -> int:
    """Every readable row of every table the fresh log has; returns how many calls came across.

    The statistics rollups fill themselves from the copied calls (their triggers); the old rollups,
    which also count calls retention has deleted, replace them only when they could be read whole. An hour
    or day rollup the old log lacks (a log from before migration 9) or could not read whole is added up
    again from the old quarter-hours, which count those calls too.
    """
    try:
        fresh.execute("ATTACH DATABASE ? AS old", [f"file:{source}?mode=ro"])
    except sqlite3.Error:
        return 0
    tables = [name for name, sql in fresh.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != 'schema_migrations' ORDER BY rowid")]
    virtual = [name for name, sql in fresh.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'table'")
               if (sql or "").upper().startswith("CREATE VIRTUAL")]
    # Full-text indexes are virtual tables with shadow tables; their triggers rebuild them from the rows.
    tables = [t for t in tables if not any(t == v or t.startswith(v + "_") for v in virtual)]
    rollups = [t for t in tables if t.startswith("stats_")]
    for table in [t for t in tables if t not in rollups]:
        _copy_table(fresh, table, replace=False)
    replaced = {table for table in rollups if _copy_table(fresh, table, replace=True)}
    if "stats_slots" in replaced:
        for table in set(TIME_ROLLUPS) - replaced - {"stats_slots"}:
            fresh.execute(f'DELETE FROM main."{table}"')
            fill_from_quarter_hours(fresh, table)
    fresh.commit()
    calls = fresh.execute("SELECT COUNT(*) FROM main.calls").fetchone()[0]
    fresh.execute("DETACH DATABASE old")
    return calls


def _copy_table(fresh: sqlite3.Connection, table: str, *, replace: bool) -> bool:
    """Copy the old table's readable rows; replace: only if it reads whole, instead of the fresh rows.

    Returns whether the fresh table now holds the old one's rows in place of its own (replace only).
    """
    try:
        old = [row[1] for row in fresh.execute(f'PRAGMA old.table_info("{table}")')]
    except sqlite3.Error:
        return False
    columns = [row[1] for row in fresh.execute(f'PRAGMA main.table_info("{table}")') if row[1] in old]
    if not columns:
        return False
    names = ", ".join(f'"{c}"' for c in columns)
    damaged: list[str] = []
    rows: Iterator[tuple] = _readable_rows(fresh, table, names, damaged)
    if replace:
        kept = list(rows)  # the rollups are small: a day per row
        if damaged or not kept:
            return False
        fresh.execute(f'DELETE FROM main."{table}"')
        rows = iter(kept)
    insert = f'INSERT OR IGNORE INTO main."{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'
    # In batches, never the whole table in memory: a Pi Zero has 512 MB and a log may hold millions of events.
    while batch := list(itertools.islice(rows, 500)):
        fresh.executemany(insert, batch)
    return replace


def _readable_rows(conn: sqlite3.Connection, table: str, names: str, damaged: list[str]) -> Iterator[tuple]:
    """Every row that can be read, stepping past damaged pages by rowid; each skip is noted in `damaged`.

    NOT INDEXED makes SQLite walk the table itself: an index may be what is damaged.
    """
    try:
        conn.execute(f'SELECT rowid FROM old."{table}" LIMIT 0')
    except sqlite3.OperationalError:  # a WITHOUT ROWID table: read until the first damaged page
        read = 0
        try:
            for row in conn.execute(f'SELECT {names} FROM old."{table}" NOT INDEXED'):
                read += 1
                yield row
        except sqlite3.DatabaseError as exc:
            log.warning("salvage: %s readable up to row %d (%s)", table, read, exc)
            damaged.append(str(exc))
        return
    after, skip = -(2 ** 63), 1
    for _attempt in range(64):  # bounded: each damaged page costs a few tries
        try:
            for rowid, *values in conn.execute(f'SELECT rowid, {names} FROM old."{table}" NOT INDEXED '
                                               "WHERE rowid > ? ORDER BY rowid", [after]):
                after, skip = rowid, 1
                yield tuple(values)
            return
        except sqlite3.DatabaseError as exc:
            log.warning("salvage: %s damaged after rowid %d (%s); reading on past it", table, after, exc)
            damaged.append(str(exc))
            # The box's rowids count up from 1: a damaged first page resumes from there, not from -2**63.
            after, skip = min(max(after, 0) + skip, 2 ** 63 - 1), skip * 4
