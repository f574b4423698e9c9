"""The daemon's records: the call store, the webhook sender's thread and the daily retention run.

It also watches the data disk: free space under the threshold raises `disk.low`; writes the database
refused raise `disk.write` while they wait (records/store/journal.py); a chore that fails raises
`maintenance.<chore>` and is tried again later, never taking the daemon's loop down (docs/alarms.md).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Records
from ..core.call import Call
from ..core.clock import BoxClock
from ..diskspace import MB, free_space, low_space
from ..files import fsync_dir
from ..modem.answer_journal import AnswerJournal
from ..records.privacy import Privacy
from ..records.store.access import AccessStore
from ..records.store.call_log import check_after_start, open_call_log, too_big_to_check_at_start
from ..records.store.calls import CallStore
from ..records.store.durable import WalSync
from ..records.store.journal import STORAGE_ERRORS, Journal, JournaledStore, reserve
from ..records.store.restamp import ProvisionalRuns
from ..records.store.retention import enforce_retention
from .alarms import Alarms
from .interrupted_audio import salvage_audio

if TYPE_CHECKING:
    from ..records.webhook_sender import WebhookSender

log = logging.getLogger(__name__)

DAY = 86400.0
DISK_CHECK_EVERY = 60.0  # s between looks at the free space (a statvfs: cheap)
WRITE_RETRY_EVERY = 10.0  # s between tries to write what waits while the database refuses writes
CHORE_RETRY_EVERY = 600.0  # s until a failed maintenance chore is tried again
# Kept taken while the disk has room and given back when a full disk stops calls.db from opening at start
# (SQLite needs a few pages for its -shm and -wal files even to read).
SPACE_RESERVE_BYTES = 4 * MB
SHARE_AGAIN_BYTES = 1 * MB  # free space at which records opened for the daemon alone are shared again
# How often a live call's heartbeat is written: a crash loses at most this much of its end. One UPDATE per live
# call each time (a page or two in the WAL), so an SD card barely notices.
HEARTBEAT_SECONDS = 5.0


class RecordKeeper:
    def __init__(self, data_dir: Path, records: Records, clock: BoxClock, *, alarms: Alarms | None = None) -> None:
        self.data_dir = data_dir
        self.records = records
        self.clock = clock
        self.monotonic = clock.monotonic  # every wait here; the wall clock only judges ages
        self.alarms = alarms or Alarms(clock.wall)
        restored_key = data_dir / "privacy.key.restore"  # left by a web restore, checked there
        if restored_key.exists():  # swapped in with the restored call log, whose pseudonyms it made
            os.replace(restored_key, data_dir / "privacy.key")
            fsync_dir(data_dir)
            log.warning("the privacy key restored from a backup is now in force")
        privacy = Privacy.for_data_dir(data_dir, records.privacy)  # a bad key stops the start before a file moves
        self.space_reserve = data_dir / "space.reserve"
        self.exclusive = False  # calls.db open for this process alone: a full disk left no room to share it
        self.settle_pending = False  # the clock was set but the disk refused to move the provisional stamps
        journal = Journal(data_dir / "calls.journal", secret=privacy.secret)
        # A backup restored from the web page is swapped in here (only the daemon writes calls.db); a
        # damaged log is moved aside and salvaged. Each is an alarm until the next start.
        self.unchecked = too_big_to_check_at_start(data_dir / "calls.db")  # checked after READY=1 instead
        store = open_call_log(data_dir / "calls.db", lambda: self._open_store(privacy),
                              lambda kind, text: self.alarms.set(f"start.{kind}", "warning", text), clock.wall())
        self.durable = WalSync(data_dir / "calls.db")  # call records fsynced off the loop (docs/records.md)
        if not self.exclusive:
            self.durable.adopt(store.db.conn)
        self.store = JournaledStore(store, journal, on_change=self._writes_changed, on_commit=self.durable.committed)
        # The audit log's schema too, while the start has no other thread: its migrations then run in a child
        # process (records/store/migrations.py), not in the daemon at its first retention, months of memory.
        try:
            AccessStore(data_dir / "access.db").close()
        except (sqlite3.DatabaseError, OSError) as exc:  # full or damaged: as before, retention meets it later
            log.warning("the audit log could not be opened at start: %s", exc)
        # Callers an earlier run answered just before it crashed get their records before this run's stamps are
        # noted (or the earlier runs' moved): such a record is that run's, stamped by its clock, and moves with
        # its stamps once the time is set. Made later, a box that booted in the past kept it years old and
        # retention deleted the record of a caller who was answered.
        self.answers = AnswerJournal(data_dir / "answers.journal", privacy.secret, clock=clock.wall)
        self._answered_before_crash()
        self._db, self._provisional = store.db, ProvisionalRuns(data_dir / "clock.provisional")
        if clock.synced():  # set since an earlier run of this boot stamped records provisionally: move them now
            self.clock_set()
        else:
            self._provisional.begin(store.db, clock.first_stamp, clock.provisional_offset)
        self.next_maintenance = self._next_disk_check = self._next_retry = self.monotonic()  # retention: now, daily
        self._writes_changed()  # writes an earlier run left in the journal wait from the start
        self._next_beat: float | None = None  # monotonic; None while no call is live
        self._stop = threading.Event()
        self._sender: WebhookSender | None = None
        self._thread: threading.Thread | None = None
        if records.webhooks:  # the sender loads only where the config names an endpoint
            from ..records.webhook_sender import WebhookSender

            self._sender = WebhookSender(self.store.path, records.webhooks, clock=clock.wall,
                                         on_trouble=lambda text: self._chore_result("webhooks", text))
            store.on_outbox = self._sender.wake
            self._thread = threading.Thread(target=self._sender.run, args=(self._stop,), name="webhooks",
                                            daemon=True)
            self._thread.start()

    def _open_store(self, privacy: Privacy) -> CallStore:
        """calls.db, however full the disk: the reserve given back, else opened for this process alone."""
        path = self.data_dir / "calls.db"
        try:
            return CallStore(path, privacy=privacy, webhooks=self.records.webhooks)
        except STORAGE_ERRORS as exc:
            why = str(exc)
        if self.space_reserve.exists():
            self.space_reserve.unlink()
            self.alarms.set("disk.reserve", "warning", f"the data disk was full at start: the "
                            f"{SPACE_RESERVE_BYTES // MB} MB kept in reserve were given back so that the call "
                            f"records could open ({why}); free some space")
            try:
                return CallStore(path, privacy=privacy, webhooks=self.records.webhooks)
            except STORAGE_ERRORS as exc:
                why = str(exc)
        try:
            store = CallStore(path, privacy=privacy, webhooks=self.records.webhooks, exclusive=True)
        except STORAGE_ERRORS as exc:
            raise _disk_error(path, exc) from exc
        self.exclusive = True
        self.alarms.set("disk.exclusive", "error", f"the data disk was full at start ({why}): calls are answered, "
                        "but the call records are open for the daemon alone, so the web pages cannot read them "
                        "until some space is freed (the daemon then shares them again by itself)")
        return store

    def _share_records(self) -> None:
        """Space is back after a full-disk start: reopen calls.db so that the web app can read it again."""
        if free_space(self.data_dir)[0] < SHARE_AGAIN_BYTES or (self.store.pending and not self.store.flush()):
            return
        old = self.store.store
        old.close()
        try:
            new = CallStore(old.path, privacy=old.privacy, webhooks=self.records.webhooks, on_outbox=old.on_outbox)
        except STORAGE_ERRORS as exc:
            log.error("%s cannot be shared yet (%s): kept open for the daemon alone", old.path, exc)
            new = CallStore(old.path, privacy=old.privacy, webhooks=self.records.webhooks,
                            on_outbox=old.on_outbox, exclusive=True)
        else:
            self.exclusive = False
            self.alarms.clear("disk.exclusive")
            self.durable.adopt(new.db.conn)
        self.store.swap(new)
        self._db = new.db

    def seconds_until_due(self) -> float:
        """How long the daemon's loop may sleep before maintain() has work."""
        waits = [self.next_maintenance - self.monotonic(), self._next_disk_check - self.monotonic()]
        if self.store.pending or self.exclusive or self.settle_pending:
            waits.append(self._next_retry - self.monotonic())
        if self._next_beat is not None:  # a live call's heartbeat
            waits.append(self._next_beat - self.monotonic())
        return max(0.0, min(waits))

    def _answered_before_crash(self) -> None:
        """Records for the answers the journal holds unsettled; then the journal starts empty for this run."""
        for entry in self.answers.unsettled():
            if self.store.answered_before_crash(entry["id"], entry["line"], entry.get("caller"), entry["at"]):
                log.warning("call %s on %s was answered just before the daemon stopped", entry["id"], entry["line"])
        self.answers.open()

    def recover(self) -> int:
        """What a crash or power cut left: calls closed with what was known, scratch audio salvaged or removed.

        Returns how many calls were closed. Audio that cannot be dealt with now stays for the next start.
        """
        interrupted = self.store.close_interrupted() or 0  # None: the disk refused, the journal keeps it
        try:
            salvage_audio(self.store, self.data_dir)
        except Exception:
            log.exception("could not salvage the audio a crash cut short; trying again at the next start")
        return interrupted

    def beat(self, live: list[Call]) -> None:
        """Write the heartbeat of the live calls when it is due (the loop calls this after every event).

        Best effort: a heartbeat the disk refuses is skipped, not queued (the next one says more).
        """
        if not live:
            self._next_beat = None
            return
        now = self.monotonic()
        if self._next_beat is None:  # the call's start already stamped it alive
            self._next_beat = now + HEARTBEAT_SECONDS
        if now < self._next_beat:
            return
        self._next_beat = now + HEARTBEAT_SECONDS
        at = self.clock.wall()
        for call in live:
            try:
                self.store.call_alive(call.record().as_dict(), at)
            except STORAGE_ERRORS as exc:
                log.debug("heartbeat of call %s not written: %s", call.id, exc)

    def maintain(self) -> None:
        """Watch the disk, write what waits, run the daily chores; a failure is an alarm, never an exception."""
        if self.monotonic() >= self._next_disk_check:
            self._next_disk_check = self.monotonic() + DISK_CHECK_EVERY
            self._check_disk()
        if (self.store.pending or self.exclusive or self.settle_pending) and self.monotonic() >= self._next_retry:
            self._next_retry = self.monotonic() + WRITE_RETRY_EVERY
            self.store.flush()
            if self.exclusive:
                self._share_records()
            if self.settle_pending:
                self._settle()
        now = self.monotonic()
        if now < self.next_maintenance:
            return
        self.next_maintenance = now + DAY
        try:
            self._retention()
        except Exception as exc:
            log.exception("retention failed; trying again in %.0f s", CHORE_RETRY_EVERY)
            self._chore_result("retention", f"retention could not run ({exc}); it is tried again in "
                                            f"{CHORE_RETRY_EVERY / 60:.0f} minutes")
            self.next_maintenance = now + CHORE_RETRY_EVERY
        else:
            self._chore_result("retention", None)

    def _retention(self) -> None:
        """Data past its retention is deleted, with its audio files.

        Not while the wall clock is unknown: "older than 30 days" means nothing to a box that thinks it is 1970.
        The audit log always has a retention ([retention] audit, a year by default).
        """
        if not self.clock.synced() or self.settle_pending:
            log.warning("retention waits: the clock is not set yet, or records still carry provisional stamps")
            return
        now = self.clock.wall()
        access = AccessStore(self.data_dir / "access.db")
        try:
            removed = enforce_retention(self.store, now, self.records.retention, audit=access) \
                if self.records.retention else {}
            removed["audit entries"] = access.prune_audit(now - self.records.audit_days * DAY, now=now)
        finally:
            access.close()
        if any(removed.values()):
            log.info("retention: removed %s", ", ".join(f"{n} {kind}" for kind, n in removed.items()))

    def _check_disk(self) -> None:
        try:
            text = low_space(self.data_dir, self.records.warn_free_mb, self.records.warn_free_percent)
        except OSError as exc:
            text = f"the free space of the data disk ({self.data_dir}) cannot be read: {exc}"
        if text:
            self.alarms.set("disk.low", "warning", text)
        else:
            self.alarms.clear("disk.low")
        try:
            if not self.space_reserve.exists() and free_space(self.data_dir)[0] > 3 * SPACE_RESERVE_BYTES:
                reserve(self.space_reserve, SPACE_RESERVE_BYTES)
                self.alarms.clear("disk.reserve")
        except OSError as exc:
            log.warning("%s cannot be made: %s", self.space_reserve, exc)

    def _writes_changed(self) -> None:
        store = self.store
        if not store.pending and not store.lost:
            self.alarms.clear("disk.write")
            return
        text = (f"call records cannot be written to the database ({store.last_error or 'not tried yet'}): "
                f"{len(store.pending)} write(s) wait in memory")
        if store.unjournaled:
            text += f" ({store.unjournaled} of them not in the journal file: a restart would lose them)"
        elif store.pending:
            text += " and in the journal file"
        text += " and are written, in order, when space returns. Calls are still answered."
        if store.lost:
            text += f" {store.lost} write(s) could not be kept and are lost."
        self.alarms.set("disk.write", "error", text)
        self._next_disk_check = self.monotonic()  # a refused write: look at the free space now

    def check_after_start(self) -> None:
        """A log too big to check before READY=1 is checked now, on a thread of its own: damage found is an
        alarm until the next start, which moves the log aside and salvages it (records/store/salvage.py)."""
        if self.unchecked:
            threading.Thread(target=self._check_log, name="log-check", daemon=True).start()

    def _check_log(self) -> None:
        then = "it will be moved aside and salvaged at the next start; restart the box soon"
        try:
            problem = check_after_start(self.data_dir / "calls.db")
        except OSError as exc:  # the note could not be written (a full disk): the next start would not know
            problem, then = "is damaged", f"the note for the next start could not be written ({exc.strerror or exc})"
        if problem:
            self.alarms.set("start.database", "error", f"the call log calls.db {problem}: {then}")

    def _chore_result(self, chore: str, trouble: str | None) -> None:
        if trouble is None:
            self.alarms.clear(f"maintenance.{chore}")
        else:
            self.alarms.set(f"maintenance.{chore}", "error", trouble)

    def clock_set(self) -> None:
        """The wall clock is set: records stamped before move to the true time, then retention runs on them."""
        self._settle()
        self.next_maintenance = self.monotonic()

    def _settle(self) -> None:
        """Move the provisional stamps; a disk that refuses the writes is an alarm, and it is tried again later.

        Records still waiting for the disk (calls.journal) carry provisional stamps too: they are written first,
        or the move waits for them, as it would forget the runs they belong to once done (docs/clock.md)."""
        now = self.monotonic()
        try:
            if self._provisional.runs() and not self.store.flush():
                raise sqlite3.OperationalError(f"{len(self.store.pending)} call record write(s) still wait for the "
                                               f"disk ({self.store.last_error})")
            moved = self._provisional.settle(self._db, self.clock.wall() - now, now)
        except STORAGE_ERRORS as exc:
            log.error("records stamped before the clock was set cannot be moved yet: %s", exc)
            self.settle_pending = True
            self._chore_result("restamp", f"records stamped before the clock was set cannot be moved to the true "
                                          f"time ({exc}); tried again every {WRITE_RETRY_EVERY:.0f} s, and "
                                          "retention waits until they are")
            return
        self.settle_pending = False
        self._chore_result("restamp", None)
        if moved:
            log.warning("the clock is set: %d record(s) stamped before moved to the true time", moved)

    def clock_stepped(self, step: float) -> None:
        """The wall clock stepped by `step` s: retention waits a day rather than judge ages by a clock that just
        jumped, and webhook retries keep their pauses (their due times are wall-clock stamps in the outbox)."""
        self.next_maintenance = max(self.next_maintenance, self.monotonic() + DAY)
        try:
            with self._db.atomic():
                self._db.execute("UPDATE webhook_outbox SET next_attempt_at = next_attempt_at + ? "
                                 "WHERE delivered_at IS NULL AND failed_at IS NULL", [step])
        except STORAGE_ERRORS as exc:
            log.warning("webhook retries could not follow the clock step: %s", exc)
        if self._sender is not None:
            self._sender.wake()

    def close(self) -> None:
        if self.store.pending and not self.store.flush():
            log.error("%d call record write(s) still wait for the disk; %d of them are in the journal for the next "
                      "start, the rest are lost", len(self.store.pending),
                      len(self.store.pending) - self.store.unjournaled)
        if self._sender is not None:
            self._stop.set()
            self._sender.wake()
            self._thread.join(timeout=5)
            self._sender.close()
        self.durable.close()
        self.store.close()


def _disk_error(path: Path, exc: Exception) -> sqlite3.OperationalError:
    """An error for `hotline could not start` that names the disk, not only SQLite's words."""
    try:
        free = f"{free_space(path.parent)[0] / MB:.1f} MB free"
    except OSError as error:
        free = f"free space unknown: {error}"
    return sqlite3.OperationalError(f"{path} cannot be opened ({exc}): the data disk {path.parent} is full or "
                                    f"failing ({free})")
