"""A damaged call log salvaged: moved aside, a fresh log started, every row that can still be read copied in.

Imported by the start (call_log.py) only when the log it opens failed its check.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from . import sqlite_utils_without_numpy
from .call_log import Alarm, move_database
from .migrations import migrate
from .rollups import TIME_ROLLUPS, fill_from_quarter_hours

log = logging.getLogger(__name__)


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
