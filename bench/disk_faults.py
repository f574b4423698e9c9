"""The disk-full fault of bench/faults.py: the daemon's data directory on a tiny tmpfs that fills up at random.

A tmpfs is mounted over `<root>/data` (root only: CI and the dev box run as root); at random moments a
filler file takes every free byte for a few seconds and is deleted again. A caller who rings while the
disk is full must be answered like any other: one who is not counts as "refused for a storage reason".
Where the mount is not permitted the fault is skipped and the figures say why.
"""

from __future__ import annotations

import errno
import os
import random
import re
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

MEGABYTES = 64  # room for the bench's prompts, database and journal; the filler takes the rest
CHUNKS = (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1)


class DiskFull:
    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.filler = self.data / "filler.bin"
        self.windows: list[tuple[float, float]] = []  # (monotonic start, end) of each full spell
        self.skipped: str | None = None
        self.data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            self.skipped = "needs root to mount a tmpfs"
            return
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={MEGABYTES}m", "hotline-bench", str(self.data)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            self.skipped = f"cannot mount a tmpfs: {done.stderr.strip()}"

    def inject(self, rng: random.Random, done: threading.Event, faults: Counter, quick: bool) -> None:
        """Fill the disk every few seconds for a few seconds, until `done`."""
        if self.skipped:
            return
        gap, hold = ((2.0, 6.0), (1.0, 3.0)) if quick else ((10.0, 40.0), (2.0, 8.0))
        while not done.wait(rng.uniform(*gap)):
            faults["disk full"] += 1
            began = time.monotonic()
            self.fill()
            done.wait(rng.uniform(*hold))
            self.filler.unlink(missing_ok=True)
            self.windows.append((began, time.monotonic()))

    def fill(self) -> None:
        """Take every free byte of the tmpfs (down to the last one) with the filler file."""
        with open(self.filler, "ab", buffering=0) as out:
            for size in CHUNKS:
                chunk = bytes(size)
                try:
                    while True:
                        out.write(chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise

    def while_full(self, at: float) -> bool:
        return any(start <= at <= end for start, end in self.windows)

    def close(self) -> None:
        self.filler.unlink(missing_ok=True)
        if not self.skipped:
            subprocess.run(["umount", "-l", str(self.data)], capture_output=True)


# The daemon's own word that a call went wrong because a record could not be written: every call-path write
# that raises is logged as "could not carry out <Action>(...)" and ends (or never answers) that call.
_STORE_FAILED = re.compile(r"could not carry out (?:CallStarted|CallerKnown|CallConnected|CallEnded|Save\w+)\("
                           r"[^\n]*?([0-9a-f]{32})")


def refused_for_storage(log: str) -> int:
    """Calls the daemon hung up on (or never answered) because a write to its records failed."""
    return len({match.group(1) for match in _STORE_FAILED.finditer(log)})


# A start refused for its data disk: SQLite's words for a full or failing disk, or the system's.
_STORAGE_WORDS = re.compile(r"database or disk is full|disk I/O error|No space left on device|Read-only file system")


def refused_start_for_storage(why: str) -> bool:
    """Whether a start's last error (`hotline could not start: ...`) was its data disk: a full disk must not stop a
    start (docs/records.md, a full disk), or the box refuses every caller for as long as it stays full."""
    return bool(_STORAGE_WORDS.search(why))
