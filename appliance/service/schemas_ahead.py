"""A first start's call log and audit log, made in one child process while `hotline run` loads the box.

A box's first start has two databases to make (calls.db, access.db): their migrations are written with
sqlite-utils, which loads click, pluggy, dateutil, email and OpenSSL (~0.1 s of CPU and ~11 MB that would stay
in the daemon for months), so they run in a forked child (records/store/migrations.py). Forked where each store
is opened, that was two children, one after the other, after the whole box was loaded: ~0.2 s added to the
start. Forked here, before the config model and the rest are imported (~0.15 s), one child makes both on
the other core while the daemon loads, and the daemon waits for it only before it opens the data directory.
An installed box needs no child at all: it copies the empty logs its install made (records/store/blank_logs.py,
~0.09 s of CPU less); the child makes only what there is no such copy for.

Only files that do not exist yet are made here: an upgrade's steps on an existing log, a restore, a privacy key
to check, a damaged or full-disk log stay with the start's own checks (service/keeper.py). A child that meets
any trouble just ends; the start then meets the same trouble where it reports it. A daemon already running on
the data directory (its lock held) is left alone: this start will be refused.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from types import TracebackType

from .instance import DATA_LOCK

log = logging.getLogger(__name__)

CALLS, ACCESS = "calls.db", "access.db"
# A restore waiting, or a privacy key without a call log: the start checks these before it touches a file (a
# key it cannot read stops it with nothing changed), so a data directory holding one is not a first start here.
LEFT_TO_THE_START = (f"{CALLS}.restore", "privacy.key", "privacy.key.restore")


class SchemasAhead:
    """The child making the schemas (none when there was nothing to make); `join()` waits for it."""

    def __init__(self, data_dir: Path) -> None:
        self.pid: int | None = None
        due = [name for name in (CALLS, ACCESS) if not (data_dir / name).exists()]
        if not due or not data_dir.is_dir() or any((data_dir / name).exists() for name in LEFT_TO_THE_START):
            return
        due = _copy_made(data_dir, due)
        if not due or not hasattr(os, "fork") or threading.active_count() > 1:
            return
        pid = os.fork()
        if pid == 0:  # the child: never returns into the daemon's code, whatever happens
            status = 1
            try:
                status = _make(data_dir, due)
            except BaseException as exc:  # noqa: BLE001 - the start meets it again and says it there
                log.debug("the schemas could not be made ahead (%s): the start makes them", exc)
            finally:
                os._exit(status)
        self.pid = pid

    def join(self) -> None:
        if self.pid is not None:
            os.waitpid(self.pid, 0)
            self.pid = None

    def __enter__(self) -> SchemasAhead:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.join()


def _locked(data_dir: Path) -> int | None:
    """The data directory's lock (dropped when closed, before the daemon takes it); None: another daemon's."""
    lock = os.open(data_dir / DATA_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        return None
    return lock


def _copy_made(data_dir: Path, due: list[str]) -> list[str]:
    """Copy the empty logs the install made (records/store/blank_logs.py); returns those still to make."""
    from ..records.store import blank_logs

    lock = _locked(data_dir)
    if lock is None:
        return []  # another daemon's data directory: not ours to touch
    try:
        return blank_logs.copy(data_dir, due)
    except OSError as exc:  # a full disk, say: the child, or else the start, meets it and says so
        log.debug("the logs made at install could not be copied (%s)", exc)
        return due
    finally:
        os.close(lock)


def _make(data_dir: Path, due: list[str]) -> int:
    if _locked(data_dir) is None:  # held until the child exits
        return 0  # another daemon's data directory: not ours to touch
    import sqlite3  # here, not above: the child's, while the daemon loads the rest

    from ..records.store.access import ACCESS_MIGRATIONS
    from ..records.store.lite import Database
    from ..records.store.migrations import MIGRATIONS, migrate

    for name in due:
        db = Database(sqlite3.connect(data_dir / name, timeout=10))
        try:
            db.enable_wal()
            db.execute("PRAGMA synchronous=NORMAL")  # as the stores' own connections
            migrate(db, MIGRATIONS if name == CALLS else ACCESS_MIGRATIONS, here=True)
        except BaseException:
            db.close()
            # Made here and not finished (a full disk): gone again, or the start would take an empty file
            # for a damaged log and set it aside with an alarm.
            from ..records.store.call_log import remove_database

            remove_database(data_dir / name)
            raise
        db.close()
    return 0
