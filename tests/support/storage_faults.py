"""A storage fault harness: a tiny real filesystem for the data directory, filled and emptied at will.

A tmpfs of a few megabytes is mounted over a test's directory (root only, as in CI and on the dev box);
where mounting is not permitted, the tests that need it are skipped, saying why. Faults that need no
mount are injected at the store's boundary instead (FullDisk below, tests/integration/test_journal.py).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from appliance.records.store.calls import CallStore
from appliance.records.store.journal import JOURNALED


@contextmanager
def tiny_filesystem(path: Path, megabytes: int) -> Iterator[Path]:
    """`path` as the mount point of a fresh tmpfs of `megabytes`; unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a tiny filesystem for the data directory needs root to mount (CI runs the tests as root)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "hotline-test", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


class Filler:
    """Takes every free byte of a filesystem with one file, and gives it back."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "filler.bin"

    def fill(self) -> None:
        with open(self.path, "ab", buffering=0) as out:
            for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
                chunk = bytes(size)
                try:
                    while True:
                        out.write(chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise

    def free(self) -> None:
        self.path.unlink(missing_ok=True)


class FullDisk:
    """Makes a CallStore's call-path writes fail as SQLite does on a full disk, until freed."""

    def __init__(self, store: CallStore) -> None:
        self.full = False
        for name in JOURNALED:
            setattr(store, name, self._guard(getattr(store, name)))

    def _guard(self, method):
        def guarded(*args, **kwargs):
            if self.full:
                raise sqlite3.OperationalError("database or disk is full")
            return method(*args, **kwargs)
        return guarded
