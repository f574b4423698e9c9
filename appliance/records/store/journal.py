"""Call records that could not be written yet: kept in order until the database takes them.

A full disk (or a failing SD card) makes SQLite refuse writes while reads go on.
The caller must not notice: the daemon's call-path writes go through
`JournaledStore`, which hands a write the store refused to a queue instead of
raising. The queue lives in memory (bounded) and in a small journal file that
was filled with zeros while there was space, so appending to it needs no new
disk blocks. Every retry writes the queue in order; each entry is committed
together with its sequence number in `journal_applied`, so an entry replayed
after a crash that came between the commit and the journal's update is
skipped, never written twice.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..sealed import Seal
from .calls import CallStore

log = logging.getLogger(__name__)

JOURNAL_BYTES = 1024 * 1024  # about 300 finished calls, reserved while the disk has room
MAX_PENDING = 2000  # entries kept in memory (a call is 2 to 5): the bound on what a long outage costs in RAM
STORAGE_ERRORS = (sqlite3.OperationalError, OSError)  # full, I/O error, read-only, locked: worth retrying

# The writes of a call in progress: they must never fail the call. Operators' writes (notes, tickets) are not
# here: the web page shows them their error at once instead. The records a start makes of what a crash left
# (answered_before_crash, close_interrupted) are here too: refused by a full disk, they failed the start, and the
# box stayed down, refusing every caller, for as long as its disk was full.
JOURNALED = frozenset({
    "answered_before_crash", "close_interrupted", "call_started", "caller_known", "call_connected", "call_ended",
    "voicemail_saved", "recording_saved", "callback_update", "record_sms",
})


def reserve(path: Path, size: int) -> int:
    """Grow a file to `size` with real zeros (not a sparse hole), as far as the disk allows; its size."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        have = os.fstat(fd).st_size
        if have < size:
            os.lseek(fd, have, os.SEEK_SET)
            chunk = bytes(64 * 1024)
            while have < size:
                have += os.write(fd, chunk[:size - have])
            os.fsync(fd)
    except OSError as exc:
        log.error("%s: only part of %d bytes could be reserved: %s", path, size, exc)
    finally:
        have = os.fstat(fd).st_size
        os.close(fd)
    return have


class Journal:
    """The reserved file: JSON lines from offset 0, then zeros to the end of the reservation.

    With a `secret` (the box's privacy key) each line is sealed (AES-GCM), because an entry holds the caller's
    number as the line gave it: the journal must not be the one file on the card where a masked or
    pseudonymous box keeps numbers readable. The seal's library is imported only when a line is sealed or opened,
    which happens only while the disk refuses writes.
    """

    def __init__(self, path: Path, size: int = JOURNAL_BYTES, *, secret: bytes | None = None) -> None:
        self.path = path
        self.used = 0
        self.size = 0
        self._seal = Seal(secret, b"hotline call journal") if secret else None
        self._reserve(size)

    def _encode(self, entry: dict[str, Any]) -> bytes:
        plain = json.dumps(entry, default=str).encode()
        return (plain if self._seal is None else self._seal.seal(plain)) + b"\n"

    def _decode(self, line: bytes) -> dict[str, Any]:
        """One entry; ValueError for a torn line or one sealed with another key."""
        return json.loads(line if self._seal is None else self._seal.open(line))

    def _reserve(self, size: int) -> None:
        try:
            self.size = reserve(self.path, size)
        except OSError as exc:
            log.error("journal %s cannot be opened: %s; unwritten records are kept in memory only", self.path, exc)

    def load(self) -> list[dict[str, Any]]:
        """The entries a previous run left; a torn last line (a power cut mid-append) is dropped."""
        try:
            raw = self.path.read_bytes()
        except OSError:
            return []
        text = raw.split(b"\0", 1)[0]
        self.used = len(text)
        entries = []
        for line in text.splitlines():
            try:
                entries.append(self._decode(line))
            except ValueError:
                log.warning("journal %s: a torn entry (or one sealed with another key) was dropped", self.path)
        return entries

    def append(self, entry: dict[str, Any]) -> bool:
        """Add one entry in place; False when it does not fit (it stays in memory only)."""
        line = self._encode(entry)
        if self.used + len(line) >= self.size:  # one zero byte must remain as the end mark
            return False
        if not self._write(self.used, line):
            return False
        self.used += len(line)
        return True

    def rewrite(self, entries: list[dict[str, Any]]) -> bool:
        """Keep only `entries` (what is still unwritten), zeroing what the others took; False if they do not fit."""
        data = b"".join(self._encode(e) for e in entries)
        fits = len(data) < self.size
        data = data if fits else b""  # too big for the file: memory still holds them
        if not self._write(0, data + bytes(max(0, self.used - len(data)))):
            return False
        self.used = len(data)
        return fits

    def _write(self, offset: int, data: bytes) -> bool:
        if self.size == 0:
            return False
        try:
            fd = os.open(self.path, os.O_WRONLY)
            try:
                os.pwrite(fd, data, offset)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.error("journal %s cannot be written: %s", self.path, exc)
            return False
        return True


class JournaledStore:
    """The daemon's CallStore: call-path writes never raise for a storage fault; everything else passes through."""

    def __init__(self, store: CallStore, journal: Journal, *, max_pending: int = MAX_PENDING,
                 on_change: Callable[[], None] | None = None, on_commit: Callable[[], None] | None = None) -> None:
        self._store = store
        self._journal = journal
        self.max_pending = max_pending
        self.on_change = on_change  # the keeper updates its alarm
        self.on_commit = on_commit  # a call-path write committed: the keeper has it synced off the loop
        self.pending: list[dict[str, Any]] = []
        self.lost = 0  # entries refused because memory was full: the alarm says so
        self.unjournaled = 0  # pending entries the journal file had no room for
        self.last_error: str | None = None
        self._seq = max(self._applied(), 0)
        left = [e for e in journal.load() if e.get("seq", 0) > self._seq]
        if left:
            log.warning("%d call record write(s) left in the journal by an earlier run: writing them", len(left))
            self.pending = left
            self._seq = max(e["seq"] for e in left)
        journal.rewrite(self.pending)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if name in JOURNALED:
            return lambda *args, **kwargs: self._write(name, args, kwargs)
        return attribute

    @property
    def store(self) -> CallStore:
        return self._store

    def swap(self, store: CallStore) -> None:
        """The same database opened anew (the keeper shares it again after a full-disk start)."""
        self._store = store

    def _write(self, op: str, args: tuple, kwargs: dict[str, Any]) -> Any:
        if not self.pending:
            changes = self._store.db.conn.total_changes
            try:
                result = getattr(self._store, op)(*args, **kwargs)
            except STORAGE_ERRORS as exc:
                self.last_error = str(exc)
                log.error("call record write %s failed (%s): kept until it can be written", op, exc)
            else:
                # A write that changed no row put nothing in the log, so there is nothing to sync: a clean
                # start's close_interrupted must not start the sync thread and its connection (~0.6 MB).
                if self._store.db.conn.total_changes != changes:
                    self._committed()
                return result
        self._queue(op, args, kwargs)
        self.flush()  # a write behind others waits its turn; the turn may be now
        return None

    def _queue(self, op: str, args: tuple, kwargs: dict[str, Any]) -> None:
        if len(self.pending) >= self.max_pending:
            self.lost += 1
            log.error("call record write %s lost: %d writes are already waiting for the disk", op, self.max_pending)
        else:
            self._seq += 1
            entry = {"seq": self._seq, "op": op, "args": list(args), "kwargs": kwargs}
            self.pending.append(entry)
            if not self._journal.append(entry):
                self.unjournaled += 1
        self._changed()

    def flush(self) -> bool:
        """Write what waits, in order, until the store refuses again; True when nothing is left waiting."""
        if not self.pending:
            return True
        written = 0
        for entry in self.pending:
            try:
                self._apply(entry)
            except STORAGE_ERRORS as exc:
                self.last_error = str(exc)
                break
            except Exception:
                # Not the disk: this entry can never be written (a bug, a changed schema). Waiting for it
                # would hold back every record behind it, so it is logged whole and dropped.
                # Its op and sequence only: the arguments hold the caller's number, which no log line may.
                log.exception("call record write %s (#%s) dropped, it cannot be written", entry["op"], entry["seq"])
                self.lost += 1
            written += 1
        if written:
            self._committed()
            self.pending = self.pending[written:]
            self.unjournaled = 0 if self._journal.rewrite(self.pending) else len(self.pending)
            log.info("%d waiting call record write(s) saved; %d still waiting", written, len(self.pending))
            if self._store.on_outbox is not None:
                self._store.on_outbox()  # webhooks queued by these writes
            self._changed()
        return not self.pending

    def _apply(self, entry: dict[str, Any]) -> None:
        db = self._store.db
        with db.atomic():  # the write and its sequence number commit together, or neither does
            db.execute("CREATE TABLE IF NOT EXISTS journal_applied (id INTEGER PRIMARY KEY CHECK (id = 1), "
                       "seq INTEGER NOT NULL)")
            getattr(self._store, entry["op"])(*entry["args"], **entry["kwargs"])
            db.execute("INSERT INTO journal_applied (id, seq) VALUES (1, ?) "
                       "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq", [entry["seq"]])

    def _applied(self) -> int:
        try:
            row = self._store.db.execute("SELECT seq FROM journal_applied WHERE id = 1").fetchone()
        except sqlite3.OperationalError:
            return 0  # no entry was ever replayed on this database
        return row[0] if row else 0

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit()
