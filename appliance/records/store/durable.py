"""Call records made durable without the event loop waiting on the card (docs/records.md, "Power cuts").

calls.db runs WAL with synchronous=NORMAL: a commit is a write() into calls.db-wal and no fsync, so it
survives any crash of the process but not a power cut until the next checkpoint syncs it, which on a quiet
box can be hours of calls. synchronous=FULL would fsync at every commit, and the daemon commits on its event
loop: an SD card's fsync takes milliseconds and now and then hundreds of them, while a caller's keys and the
operators' rings wait. So the loop only says "committed" here, and this thread fsyncs the WAL file after it:
a call record is on the card one fsync after its commit, and the loop never waits for that.

Checkpoints move here too: SQLite's automatic one runs in the committing connection, so on the loop, every
1000 pages of log (about 40 calls), and it copies up to 4 MB into calls.db and fsyncs both files, a pause
that on an SD card can pass a second. The loop's connection is told not to (`adopt`), and this thread runs a
PASSIVE checkpoint on its own connection every CHECKPOINT_EVERY commits (it never waits for a reader). What
stays on the loop is SQLite's sync of the log's 32-byte header when it starts the log over after a
checkpoint: one small fdatasync per cycle.

The fsync is of the file's own inode, opened afresh each time (SQLite keeps the file while the database is
open, and the kernel writes back every dirty page of it, whichever descriptor wrote them); frames of a
transaction still being written when it runs are harmless, as recovery ignores an incomplete transaction.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# Call-path commits between checkpoints: a call commits 4 to 6 times and writes ~26 pages of log (start,
# milestones, heartbeats, end), so ~250 commits keep the log near SQLite's own 1000 pages.
CHECKPOINT_EVERY = 250


class WalSync:
    """`committed()` from the loop (never waits); a thread, started with the first commit, fsyncs the WAL."""

    def __init__(self, database: Path, checkpoint_every: int = CHECKPOINT_EVERY) -> None:
        self.database, self.wal = database, Path(f"{database}-wal")
        self.checkpoint_every = checkpoint_every
        self.committed_count = 0  # commits told, by the loop
        self.synced_count = 0  # of those, known to be on the card
        self._checkpointed_at = 0  # the commit count at the last checkpoint
        self._checkpoints: sqlite3.Connection | None = None  # this thread's own connection
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @staticmethod
    def adopt(conn: sqlite3.Connection) -> None:
        """The loop's writer connection leaves checkpoints to this thread (not one opened for the daemon alone on
        a full disk: no other connection can reach that database, so it keeps checkpointing itself)."""
        conn.execute("PRAGMA wal_autocheckpoint=0")

    def committed(self) -> None:
        self.committed_count += 1
        if self._thread is None:  # an idle box keeps no thread (and a start forks none behind one)
            self._thread = threading.Thread(target=self._run, name="wal-sync", daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        # Its connection opens with the thread (the first call's commit), not at the first checkpoint: the
        # daemon holds the same descriptors from its first call on, rather than two more appearing hours later.
        try:
            self._connect()
        except sqlite3.Error as exc:  # a full or failing disk: the first checkpoint tries again
            log.warning("the call log's checkpoint connection could not be opened: %s", exc)
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            through = self.committed_count  # commits after this may be in the sync too: never fewer
            try:
                fd = os.open(self.wal, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except FileNotFoundError:
                pass  # checkpointed and removed: the checkpoint synced calls.db itself
            except OSError as exc:  # a failing card: the next commit tries again; the disk alarms say the rest
                log.warning("call records could not be synced to the card: %s", exc)
                continue
            self.synced_count = through
            if through - self._checkpointed_at >= self.checkpoint_every:
                self._checkpoint(through)

    def _connect(self) -> sqlite3.Connection:
        if self._checkpoints is None:
            self._checkpoints = sqlite3.connect(str(self.database), timeout=10, check_same_thread=False)
            self._checkpoints.execute("PRAGMA synchronous=NORMAL")  # a checkpoint syncs the log, then the file
            self._let_go(self._checkpoints)
        return self._checkpoints

    @staticmethod
    def _let_go(conn: sqlite3.Connection) -> None:
        """The connection's parsed schema and cached pages given back; it stays open. Each connection parses the
        whole schema of calls.db for itself (~0.5 MB), and this one needs it only while it checkpoints, every
        CHECKPOINT_EVERY commits: held, the daemon kept it from its first call on (docs/proof.md). RESET makes
        SQLite read the schema again when the connection next needs it."""
        conn.execute("PRAGMA writable_schema=RESET")
        conn.execute("PRAGMA shrink_memory")

    def _checkpoint(self, through: int) -> None:
        try:
            conn = self._connect()
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._checkpointed_at = through
            self._let_go(conn)
        except sqlite3.Error as exc:  # busy, or a full or failing disk: tried again after the next commit
            log.warning("the call log could not be checkpointed: %s", exc)

    def close(self) -> None:
        """At shutdown, before the store closes (its last connection checkpoints and syncs the database)."""
        if self._thread is not None:
            self._stopping = True
            self._wake.set()
            self._thread.join(timeout=5)
        if self._checkpoints is not None:
            self._checkpoints.close()
