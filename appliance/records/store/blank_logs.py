"""Empty call and audit logs made once at install, so that a first start copies them instead of migrating.

A first start's two databases cost ~0.09 s of CPU in the schema child here (sqlite-utils' import ~42 ms, the
16 migrations ~37 ms, the store's modules ~12 ms; about ten times that on a Pi Zero), for files that are the
same on every box until its first call. `python -m appliance.ops.bytecode PREFIX` (scripts/install.sh, and the
dpkg hook after an upgrade) makes them with the same migrations into PREFIX/hotline-schemas, named by their
schema version; the daemon runs with PYTHONPYCACHEPREFIX=PREFIX (systemd/hotline.service) and copies the ones
of its own version. Without them (a tree run from source, tests, files of another version) the schema child
migrates as before (service/schemas_ahead.py). `schema_migrations.applied_at` then says when the install made
the schema.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

from .access import ACCESS_MIGRATIONS
from .lite import Database
from .migrations import MIGRATIONS, migrate

FOLDER = "hotline-schemas"
STEPS = {"calls.db": MIGRATIONS, "access.db": ACCESS_MIGRATIONS}


def _made(folder: Path, name: str) -> Path:
    stem, suffix = name.rsplit(".", 1)
    return folder / f"{stem}-{len(STEPS[name])}.{suffix}"


def folder(prefix: str | None = None) -> Path | None:
    """Where the made logs are: under the bytecode prefix the daemon runs with (None: there is none)."""
    prefix = prefix or sys.pycache_prefix
    return Path(prefix) / FOLDER if prefix else None


def make(prefix: Path) -> None:
    """Make both empty logs under `prefix` as a first start would (WAL, every step), replacing older ones."""
    target = Path(prefix) / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for name, steps in STEPS.items():
        made, partial = _made(target, name), target / f".{name}.partial"
        partial.unlink(missing_ok=True)
        db = Database(sqlite3.connect(partial))
        try:
            db.enable_wal()
            db.execute("PRAGMA synchronous=NORMAL")
            migrate(db, steps, here=True)
        finally:
            db.close()  # the last connection: its WAL is checkpointed into the file and removed
        os.replace(partial, made)
    for old in target.iterdir():  # another version's, from before an upgrade
        if old.name not in {_made(target, name).name for name in STEPS}:
            old.unlink()


def copy(data_dir: Path, due: list[str]) -> list[str]:
    """Copy the made logs of this version for the `due` files into `data_dir`; returns those still to make.

    Written under a temporary name and renamed, so a start cut short leaves no half file that the next start
    would take for a damaged log."""
    made = folder()
    left = []
    for name in due:
        source = _made(made, name) if made else None
        if source is None or not source.is_file():
            left.append(name)
            continue
        partial = data_dir / f".{name}.copying"
        partial.unlink(missing_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            data = memoryview(source.read_bytes())
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, data_dir / name)
    return left
