"""The answer journal: one line per ATA, appended just before it goes out, so the record can follow it.

The line answers a caller straight from the RING, before the daemon has written the call's record. A
crash in between must not lose the call, so each answer is first noted here: one unsynced append of a
short line (microseconds; it survives the process being killed, as the page cache does). The daemon
marks an entry settled once the record is in the database; at start, entries never settled become
records (closed as interrupted with the rest), and the journal starts empty again.

Each line is sealed with the box's privacy key (AES-GCM, as the records' own journal is): it holds the
caller's number as the line gave it, and no file on the card may keep a number readable outside the
records' privacy rule. cryptography is loaded with the first answer, never by an idle box.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..records.sealed import Seal

log = logging.getLogger(__name__)


class AnswerJournal:
    def __init__(self, path: str | Path, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._seal = Seal(secret, b"hotline answer journal")
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._fd: int | None = None

    def unsettled(self) -> list[dict]:
        """Answers noted by an earlier run whose record may never have been written (oldest first)."""
        try:
            rows = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        entries: dict[str, dict] = {}
        for row in rows:
            try:
                entry = json.loads(self._seal.open(row))
            except ValueError:
                try:  # written by software from before the journal was sealed
                    entry = json.loads(row)
                except ValueError:
                    continue  # the last line, cut by the crash mid-write
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                continue
            if entry.get("settled"):
                entries.pop(entry["id"], None)
            elif isinstance(entry.get("line"), str) and isinstance(entry.get("at"), int | float):
                # A later line for the same call adds the caller's number (+CLIP after the ATA went out).
                known = entries.setdefault(entry["id"], entry)
                known["caller"] = known.get("caller") or entry.get("caller")
        return list(entries.values())

    def open(self) -> None:
        """Start empty (after unsettled() was dealt with) and keep the file open for appends."""
        with self._lock:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
            self._pending.clear()

    def note(self, call_id: str, line: str, caller: str | None) -> None:
        """On the line's worker, just before ATA; again on its reader when the caller's number comes after."""
        row = self._line({"id": call_id, "line": line, "caller": caller, "at": self._clock()})
        with self._lock:
            if self._fd is None:
                return
            self._pending.add(call_id)
            try:
                os.write(self._fd, row)
            except OSError as exc:  # a full disk must not stop the answer: the record is written as usual
                log.warning("answer journal %s: %s", self.path, exc)

    def settled(self, call_id: str) -> None:
        """The call's record is in the database: its journal line is no longer needed."""
        with self._lock:
            # Not noted: a call that ended before its ATA went out (the line posts IncomingCall only after
            # its ATA is answered, so a noted call's record never comes first).
            if self._fd is None or call_id not in self._pending:
                return
            self._pending.discard(call_id)
            try:
                if self._pending:
                    os.write(self._fd, self._line({"id": call_id, "settled": True}))
                else:
                    os.ftruncate(self._fd, 0)  # nothing in flight: the journal stays a few bytes long
            except OSError as exc:
                log.warning("answer journal %s: %s", self.path, exc)

    def _line(self, entry: dict) -> bytes:
        return self._seal.seal(json.dumps(entry).encode()) + b"\n"

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
