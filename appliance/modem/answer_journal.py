"""The answer journal: one line per ATA, written just before it goes out, so the record can follow it.

The line answers a caller straight from the RING, before the daemon has written the call's record. A
crash in between must not lose the call, so each answer is first noted here. The daemon marks an entry
settled once the record in the database holds what it holds (a number read after the RING is a write of its own
after the record's first); at start, entries never settled become records (closed as
interrupted with the rest), and the journal starts empty again.

Each line is sealed with the box's privacy key (AES-GCM, as the records' own journal is): it holds the
caller's number as the line gave it, and no file on the card may keep a number readable outside the
records' privacy rule. The seal's library is loaded with the first number sealed, never by an idle box.

What the caller waits for is the ATA, so the note before it is made cheap (bench/answer_latency.py):
 * sealing costs ~130 us (JSON, AES-GCM, a nonce): each line's next note is sealed ahead, when its last
   call's record is written (`settled`, on the event loop), and holds what is known then, the line. The
   answer adds the call's id and the time in the clear (neither says anything about the caller) and the
   number, if the line has it yet, in a second sealed line after the ATA ("a later line for the same call").
   An answer whose number is known before the ATA (V.253 caller ID, +CLIP before RING) is sealed whole
   before the ATA.
 * the seal's library is loaded by the first number to seal (~20 ms here, a few hundred on a Pi Zero), not
   before: until the journal has sealed one, an entry that holds no number (a line's first answer after a
   start, a settled mark) is written in the clear, and nothing is sealed ahead, so neither the first caller's
   ATA nor the event loop waits for that import. Such an entry shows the line, the call's id and the time:
   what calls.db holds anyway.
 * the file is reserved (zeros written) at start: an entry is a pwrite() into the page cache at a known offset,
   with no size to change (an append to the emptied file cost ~40 us; this is ~0.6 us here). It is not mapped:
   a mapping's pages, all 16 faulted in by the first note, stayed the daemon's for good (docs/proof.md, idle).
 * no fsync. The entry is in the page cache before the ATA leaves, and the page cache outlives the process:
   a crash (SIGKILL, an exception, the watchdog) after the ATA always finds it. A power cut is another
   matter, and an fsync here would not settle it: the entry is wiped once the record is committed, and the
   record is made durable by the call log itself, one fsync after its commit and off the loop
   (records/store/durable.py); this note covers a crash, not a power cut. Nor may
   the write move after the ATA: a crash between the two would leave an answered caller without a record.
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

RESERVED_BYTES = 64 * 1024  # ~300 answers in flight before the file grows: far more than a box has lines


class AnswerJournal:
    def __init__(self, path: str | Path, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._seal = Seal(secret, b"hotline answer journal")
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, str] = {}  # call id -> its line, for calls noted and not yet settled
        self._ready: dict[str, bytes] = {}  # line -> the sealed start of its next note, made ahead
        self._sealing = False  # a number was sealed: the library is in memory, every entry is sealed from now on
        self._unsealable = False  # the seal failed once: the rest of this run is journalled in the clear, no numbers
        self._recorded: dict[str, str] = {}  # line -> its last call settled (its record is in the database)
        self._fd: int | None = None
        self._end = 0  # where the next line goes; zeros from here to the end of the reservation

    def unsettled(self) -> list[dict]:
        """Answers noted by an earlier run whose record may never have been written (oldest first)."""
        try:
            rows = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        entries: dict[str, dict] = {}
        for row in rows:
            entry = self._entry(row.strip(b"\0"))  # the reservation's zeros after the last line are no entry
            if entry is None or not isinstance(entry.get("id"), str):
                continue
            if entry.get("settled"):
                entries.pop(entry["id"], None)
            elif isinstance(entry.get("line"), str) and isinstance(entry.get("at"), int | float):
                # A later line for the same call adds the caller's number (+CLIP after the ATA went out).
                known = entries.setdefault(entry["id"], entry)
                known["caller"] = known.get("caller") or entry.get("caller")
        return list(entries.values())

    def _entry(self, row: bytes) -> dict | None:
        """One line as written: sealed whole, or sealed ahead with the id and time added; None if unreadable."""
        if not row:
            return None
        if row.startswith(b"{"):  # an entry with no number, before any was sealed (or from older software)
            try:
                entry = json.loads(row)
            except ValueError:
                return None  # the last line, cut by the crash mid-write
            return entry if isinstance(entry, dict) else None
        sealed, _, added = row.partition(b" ")
        try:
            entry = json.loads(self._seal.open(sealed))
            if added:
                call_id, _, at = added.partition(b" ")
                entry.update(id=call_id.decode(), at=float(at))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(entry, dict):
            return None
        entry.setdefault("caller", None)
        return entry

    def open(self) -> None:
        """Start empty (after unsettled() was dealt with), the file reserved and kept open for the notes."""
        with self._lock:
            # Not truncated: the room an earlier run reserved stays this file's. Given back, a disk filling at that
            # instant took it, and on a full disk no answer of the run was noted.
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pending.clear()
            self._end = 0
            try:
                # Real zeros, not a hole, over what the last run left and up to the reservation: the disk's room is
                # taken now, so a note within it never meets a full disk.
                size = max(RESERVED_BYTES, os.fstat(self._fd).st_size)
                os.pwrite(self._fd, bytes(size), 0)
            except OSError as exc:  # a full disk: notes still go in, by write(), each growing the file
                log.warning("answer journal %s: cannot reserve %d bytes: %s", self.path, RESERVED_BYTES, exc)

    def note(self, call_id: str, line: str, caller: str | None) -> None:
        """On the line's reader (or worker) just before ATA; again on its reader when the caller's number
        comes after it."""
        with self._lock:
            # A number read after the call's record was written (a +CLIP late, or its seal slower than the
            # record: the first one loads the library) has the record to keep it: a note now would outlive it.
            if self._fd is None or self._recorded.get(line) == call_id:
                return
            ahead = self._ready.pop(line, None) if caller is None and call_id not in self._pending else None
            if ahead is not None:  # the answer: its line sealed ahead, its id and time added
                self._pending[call_id] = line
                self._write(b"%s %s %.3f\n" % (ahead, call_id.encode(), self._clock()))
                return
        row = self._line({"id": call_id, "line": line, "caller": caller, "at": self._clock()})
        with self._lock:
            if self._fd is None or self._recorded.get(line) == call_id:
                return
            if self._unsealable and call_id in self._pending:
                return  # the number, which cannot be sealed, was all this line would add
            self._pending[call_id] = line
            self._write(row)  # a full disk must not stop the answer: the record is written as usual

    def settled(self, call_id: str) -> None:
        """The call's record is in the database with what the entry holds (the number, when it came after the
        record was begun): its journal line is no longer needed (on the event loop)."""
        with self._lock:
            # Not noted: a call that ended before its ATA went out (the line posts IncomingCall only after
            # its ATA is answered, so a noted call's record never comes first).
            line = self._pending.pop(call_id, None)
            if self._fd is None or line is None:
                return
            self._recorded[line] = call_id
            if self._pending:
                self._write(self._line({"id": call_id, "settled": True}))
            else:
                self._wipe()  # nothing in flight: the journal holds no entry
            # the line's next note, sealed now rather than before its ATA (once the library is in memory)
            if line not in self._ready and self._sealing:
                ahead = self._sealed({"line": line})
                if ahead is not None:
                    self._ready[line] = ahead

    def _line(self, entry: dict) -> bytes:
        if entry.get("caller") is not None or self._sealing:
            sealed = self._sealed(entry)
            if sealed is not None:
                self._sealing = True
                return sealed + b"\n"
            entry = {key: value for key, value in entry.items() if key != "caller"}
        # no number to hide (or none that can be hidden), and the library's import is not worth a caller's wait
        return json.dumps(entry).encode() + b"\n"

    def _sealed(self, entry: dict) -> bytes | None:
        """`entry` sealed; None when the seal fails (its library missing from the install, or the seal itself).

        The journal then goes on in the clear without the numbers, and says so once: it only covers a crash
        between an ATA and its record, and neither the answer nor the record may wait on it (nor be lost with
        it: its exception, raised into the line's reader or worker, kept the call from the core for good)."""
        if self._unsealable:
            return None
        try:
            return self._seal.seal(json.dumps(entry).encode())
        except Exception as exc:  # noqa: BLE001 - see above
            self._unsealable = True
            log.error("answer journal %s: cannot seal (%s: %s); answers are journalled without the caller's number "
                      "until the daemon restarts: a crash before a call's record is written leaves that record "
                      "without it", self.path, type(exc).__name__, exc)
            return None

    def _write(self, row: bytes, at: int | None = None) -> None:
        start = self._end if at is None else at
        try:
            if self._fd is not None:  # callers checked it is open
                os.pwrite(self._fd, row, start)
            if at is None:
                self._end += len(row)
        except OSError as exc:
            log.warning("answer journal %s: %s", self.path, exc)

    def _wipe(self) -> None:
        self._write(bytes(self._end), at=0)
        self._end = 0

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
