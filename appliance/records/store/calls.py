"""The call log: the daemon writes it, everyone else reads it.

SD cards wear out, so a call costs few transactions: one when it starts and one
when it ends (the whole record, its event timeline, voicemail, callback and
survey rows, and any webhooks for them, committed together), plus a one-row
heartbeat every few seconds while it is live, so a crash loses little of it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..privacy import NUMBER_EVENTS, Privacy, appear, appear_in_event, is_protected, transcript_as_kept
from ..webhooks import Endpoint, enqueue
from .lite import Database
from .migrations import migrate
from .rows import REWRITE, call_row, interrupted_record, rewritten

# The reader, CallLog, is the web app's: it lives in queries.py (with the statistics), which the daemon, the
# writer, loads only for a caller's erasure or export.
__all__ = ["CallStore", "EVENTS", "CALL_TYPES", "TICKET_STATES"]


EVENTS = (
    "ANSWERED", "KEY", "ENTERQUEUE", "RINGNOANSWER", "CONNECT", "ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY",
    "COMPLETECALLER", "COMPLETEAGENT", "VOICEMAIL", "CALLBACK_REQUEST", "SURVEY", "TRANSFER", "FAILED",
)
# "data" calls carry a request; the others are recorded so they can be counted and filtered out.
CALL_TYPES = ("data", "silent", "hang-up", "abusive", "test")
TICKET_STATES = {"open": {"in progress", "closed"}, "in progress": {"open", "closed"}, "closed": {"open"}}
INTERRUPTED_REASON = "the box stopped during the call (a crash or power cut); it ends at the last moment the box " \
                     "knew it was alive"
# SQLite's default is 2 MiB per connection, filled as the database grows and held for the daemon's life; a call's
# writes touch a few dozen pages, and 256 KiB wrote calls as fast as 1 MiB on a log of 20,000 (docs/proof.md)
WRITER_CACHE_KIB = 256


class CallStore:
    """The daemon's writer: the only process that writes call data."""

    def __init__(
        self,
        path: str | Path,
        *,
        privacy: Privacy | None = None,
        webhooks: Sequence[Endpoint] = (),
        on_outbox: Callable[[], None] | None = None,
        exclusive: bool = False,
    ) -> None:
        self.path = Path(path)
        self.data_dir = self.path.parent
        self.privacy = privacy or Privacy.for_data_dir(self.data_dir)
        self.webhooks = list(webhooks)
        self.on_outbox = on_outbox  # wakes the webhook sender after a commit that queued deliveries
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
        try:
            if exclusive:  # a full disk has no room for the -shm file: the WAL index lives in this process instead
                conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            self.db = Database(conn)
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")  # commits synced off the loop: durable.py
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA secure_delete=ON")  # erased and protected data is overwritten, not left free
            # The writer appends and touches recent rows: a small page cache serves it (the OS caches the file), and
            # a bound keeps the daemon's memory flat as the log grows (bench/soak.py, docs/proof.md).
            self.db.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
            migrate(self.db)
            self._protect_old_timelines()
        except BaseException:
            conn.close()  # a store that failed to open holds no lock (the next try, or the web app, needs it)
            raise

    # --- the call lifecycle ---------------------------------------------------

    def close_interrupted(self) -> int:
        """Calls the daemon never finished (a crash, a power cut) are closed, not left open forever.

        Each keeps what its last heartbeat knew (answer, menu path, skill, handset, timeline) and ends at the
        last moment the box knew it alive, never at the restart: a power cut of hours is not a call of hours.
        """
        rows = self.db.execute("SELECT id, line, caller, caller_key, started_at, last_alive, progress, connected_at, "
                               "handset, operator FROM calls WHERE ended_at IS NULL").fetchall()
        for row in rows:
            self._close_one(*row)
        return len(rows)

    def _close_one(self, call_id: str, line: str, caller: str | None, caller_key: str | None, started_at: float,
                   last_alive: float | None, progress: str | None, connected_at: float | None,
                   handset: str | None, operator: str | None) -> None:
        record = interrupted_record(
            json.loads(progress) if progress else {"id": call_id, "line": line, "started_at": started_at},
            last_alive=last_alive, connected_at=connected_at, handset=handset, operator=operator)
        record["reason"] = INTERRUPTED_REASON
        row, events = call_row(record)
        row["caller"], row["caller_key"] = caller, caller_key  # stored as they were: no second pass of privacy
        self._store_ended(row, events, ())

    def call_started(self, call_id: str, line: str, caller: str | None, started_at: float) -> None:
        queued = 0
        with self.db.atomic():
            self.db["calls"].insert({
                "id": call_id, "line": line, "caller": appear(caller, "record", policy=self.privacy),
                "caller_key": self.privacy.key(caller), "started_at": started_at, "last_alive": started_at,
            })
            queued = self._webhook("call.started", started_at, {
                "id": call_id, "line": line, "caller": appear(caller, "webhook", policy=self.privacy),
                "caller_key": self.privacy.key(caller), "started_at": started_at,
            })
        self._wake(queued)

    def answered_before_crash(self, call_id: str, line: str, caller: str | None, at: float) -> bool:
        """A call the line's answer journal says was answered: its record, if the crash came before it was
        written (then closed as interrupted by close_interrupted), or the caller's number, if it came before
        the record got it. True when a record had to be made."""
        if self.db.execute("SELECT 1 FROM calls WHERE id = ?", [call_id]).fetchone():
            if caller is not None:
                self.caller_known(call_id, caller)  # a record that has a number keeps it
            return False
        self.call_started(call_id, line, caller, at)
        return True

    def caller_known(self, call_id: str, caller: str) -> None:
        """Caller ID that came after the ring: the live call shows who it is (in the box's privacy mode)."""
        with self.db.atomic():
            self.db.execute("UPDATE calls SET caller = ?, caller_key = ? WHERE id = ? AND caller IS NULL",
                            [appear(caller, "record", policy=self.privacy), self.privacy.key(caller), call_id])

    def call_connected(self, call_id: str, handset: str, operator: str | None, at: float) -> None:
        """An operator took the call: shown live, and the `call.answered` webhook goes out now, not at the end."""
        with self.db.atomic():
            self.db.execute(REWRITE, rewritten(call_id, {"connected_at": at, "handset": handset, "operator": operator,
                                                         "last_alive": at}))
            queued = self._webhook("call.answered", at,
                                   {"id": call_id, "handset": handset, "operator": operator, "connected_at": at})
        self._wake(queued)

    def call_alive(self, record: dict, at: float) -> None:
        """The heartbeat of a live call: one UPDATE of when it was last alive and the record so far.

        The number stays out of the blob (the row holds it in the box's privacy mode) and the timeline's
        details pass the same rule as a finished call's, so the blob holds nothing the record would not.
        """
        known = {k: v for k, v in record.items() if k != "caller"}
        known["events"] = [dict(e, detail=appear_in_event(e["event"], e.get("detail"), "timeline", policy=self.privacy))
                           for e in record["events"]]
        with self.db.atomic():
            self.db.execute("UPDATE calls SET last_alive = ?, progress = ? WHERE id = ? AND ended_at IS NULL",
                            [at, json.dumps(known, default=str), record["id"]])

    def call_ended(self, record: dict) -> None:
        """The finished call, its timeline and what the caller left behind, in one transaction."""
        row, events = call_row(record)
        number = record.get("caller")
        row["caller"], row["caller_key"] = appear(number, "record", policy=self.privacy), self.privacy.key(number)
        for event in events:
            event["detail"] = appear_in_event(event["event"], event["detail"], "timeline", policy=self.privacy)
        self._store_ended(row, events, record.get("recordings") or ())

    def _store_ended(self, row: dict, events: list[dict], recordings: Sequence[dict]) -> None:
        call_id = row["id"]
        row["progress"] = None  # the heartbeat's copy is superseded by the record itself
        with self.db.atomic():
            before = self.db.execute("SELECT connected_at FROM calls WHERE id = ?", [call_id]).fetchone()
            if before is not None:
                self.db.execute(REWRITE, rewritten(call_id, row))
            else:  # a record whose start never reached the log (lost while the disk was full, or from elsewhere)
                self.db["calls"].insert(row)
            self.db.execute("DELETE FROM call_events WHERE call_id = ?", [call_id])  # a rewrite replaces
            self.db["call_events"].insert_all(
                ({"call_id": call_id, **event} for event in events), batch_size=500)
            queued = 0
            if row.get("connected_at") is not None and (before is None or before[0] is None):
                queued += self._webhook("call.answered", row["connected_at"], {
                    "id": call_id, "handset": row.get("handset"), "operator": row.get("operator"),
                    "connected_at": row["connected_at"]})
            for event in events:
                name, at, detail = event["event"], event["at"], event["detail"]
                if name == "SURVEY":
                    self.db["surveys"].insert({"call_id": call_id, "at": at, "score": int(detail)})
            for recording in recordings:
                self.db["recordings"].insert({"call_id": call_id, "at": recording.get("at", row["ended_at"]),
                                              "path": recording["path"], "seconds": recording.get("seconds")})
            public = {k: v for k, v in row.items() if k not in ("extra", "progress")}
            queued += self._webhook("call.ended", row.get("ended_at") or row["started_at"],
                                    {**public, "events": events})
        self._wake(queued)

    # --- what operators add (asked for over the control socket) --------------

    def add_note(self, call_id: str, author: str, text: str, *, now: float) -> int:
        text = (text or "").strip()
        if not text:
            raise ValueError("a note needs some text")
        with self.db.atomic():
            key = self._caller_key(call_id)
            started = self.db.execute("SELECT started_at FROM calls WHERE id = ?", [call_id]).fetchone()[0]
            # Never stamped before its call began, even after the clock stepped back: the notes search relies
            # on it to stop early (CallLog.search).
            return self.db["notes"].insert({"call_id": call_id, "caller_key": key, "at": max(now, started or now),
                                            "author": author, "text": text}).last_pk

    def set_call_type(self, call_id: str, call_type: str, category: str | None = None) -> None:
        if call_type not in CALL_TYPES:
            raise ValueError(f"call type {call_type!r} is not one of {', '.join(CALL_TYPES)}")
        if category is not None and not (0 < len(category.strip()) <= 80):
            raise ValueError("category must be 1 to 80 characters")
        with self.db.atomic():
            self._caller_key(call_id)
            self.db.execute("UPDATE calls SET call_type = ?, category = ? WHERE id = ?",
                            [call_type, category.strip() if category else None, call_id])

    def open_ticket(self, call_id: str | None, title: str, author: str, *, now: float,
                    assignee: str | None = None) -> int:
        title = (title or "").strip()
        if not title:
            raise ValueError("a ticket needs a title")
        with self.db.atomic():
            key = self._caller_key(call_id) if call_id else None
            return self.db["tickets"].insert({
                "call_id": call_id, "caller_key": key, "title": title, "status": "open", "assignee": assignee,
                "created_at": now, "updated_at": now, "created_by": author}).last_pk

    def update_ticket(self, ticket_id: int, *, now: float, status: str | None = None,
                      assignee: str | None = None, title: str | None = None) -> dict:
        with self.db.atomic():
            row = self.db.execute("SELECT status FROM tickets WHERE id = ?", [ticket_id]).fetchone()
            if row is None:
                raise LookupError(f"no ticket {ticket_id}")
            changes: dict[str, Any] = {"updated_at": now}
            if status is not None and status != row[0]:
                if status not in TICKET_STATES:
                    raise ValueError(f"ticket status {status!r} is not one of {', '.join(TICKET_STATES)}")
                if status not in TICKET_STATES[row[0]]:
                    raise ValueError(f"a ticket cannot go from {row[0]!r} to {status!r}")
                changes["status"] = status
                changes["closed_at"] = now if status == "closed" else None
            if assignee is not None:
                changes["assignee"] = assignee
            if title is not None:
                if not title.strip():
                    raise ValueError("a ticket needs a title")
                changes["title"] = title.strip()
            self.db["tickets"].update(ticket_id, changes)
            return dict(self.db["tickets"].get(ticket_id))

    def upsert_contact(self, number: str, *, name: str | None, note: str | None, author: str, now: float) -> str:
        """A name and note for a caller, keyed by pseudonym; returns the caller key."""
        key = self.privacy.key(number)
        if key is None:
            raise ValueError("a contact needs a phone number")
        with self.db.atomic():
            self.db["contacts"].upsert({"caller_key": key, "number": appear(number, "record", policy=self.privacy),
                                        "name": name,
                                        "note": note, "updated_at": now, "updated_by": author}, pk="caller_key")
        return key

    def record_sms(self, line: str, direction: str, number: str, text: str, *, at: float) -> int:
        if direction not in ("in", "out"):
            raise ValueError(f"SMS direction {direction!r} must be 'in' or 'out'")
        with self.db.atomic():
            return self.db["sms"].insert({"line": line, "direction": direction, "caller_key": self.privacy.key(number),
                                          "number": appear(number, "record", policy=self.privacy), "at": at,
                                          "text": text}).last_pk

    def voicemail_saved(self, call_id: str, path: str, seconds: float, caller: str | None, *, at: float) -> int:
        """A message left by a caller; it often arrives after the call's record (they hang up to finish)."""
        voicemail = {"call_id": call_id, "caller_key": self.privacy.key(caller), "at": at, "path": path,
                     "seconds": seconds}
        with self.db.atomic():
            row_id = self.db["voicemails"].insert(voicemail).last_pk
            queued = self._webhook("voicemail", at,
                                   {**voicemail, "caller": appear(caller, "webhook", policy=self.privacy)})
        self._wake(queued)
        return row_id

    def voicemail_transcribed(self, call_id: str, text: str) -> None:
        """The voicemail's text, made after the call; numbers said in it are kept as the privacy mode keeps them."""
        with self.db.atomic():
            self.db.execute("UPDATE voicemails SET transcript = ? WHERE call_id = ?",
                            [transcript_as_kept(text, self.privacy), call_id])

    def audio_salvaged(self, kind: str, call_id: str, path: str, seconds: float, *, at: float) -> bool:
        """A message ("voicemail") or call recording ("recording") a crash cut short, kept flagged as such.

        False (nothing stored) when its call is not in the log: the caller was erased, or it expired.
        """
        row = self.db.execute("SELECT caller, caller_key FROM calls WHERE id = ?", [call_id]).fetchone()
        if row is None:
            return False
        with self.db.atomic():
            if kind == "voicemail":
                voicemail = {"call_id": call_id, "caller_key": row[1], "at": at, "path": path, "seconds": seconds,
                             "cut_short": 1}
                self.db["voicemails"].insert(voicemail)
                queued = self._webhook("voicemail", at, {**voicemail, "caller": row[0]})
            else:
                self.db["recordings"].insert({"call_id": call_id, "at": at, "path": path, "seconds": seconds,
                                              "cut_short": 1})
                queued = 0
        self._wake(queued)
        return True

    def pending_callbacks(self) -> list[dict]:
        """Requests not yet settled, oldest first: the daemon puts them back in line at start."""
        rows = self.db.execute(
            "SELECT request_id, number, COALESCE(attempts, 0) FROM callbacks WHERE request_id IS NOT NULL "
            "AND status IN ('pending', 'dialling', 'ringing operator') AND number IS NOT NULL "
            "ORDER BY requested_at").fetchall()
        return [{"request_id": r[0], "number": r[1], "attempts": r[2]} for r in rows]

    def recording_saved(self, call_id: str, path: str, seconds: float, *, at: float) -> None:
        with self.db.atomic():
            self.db["recordings"].insert({"call_id": call_id, "at": at, "path": path, "seconds": seconds})

    def callback_update(self, request_id: str, call_id: str | None, number: str, state: str, attempts: int,
                        detail: str | None, *, at: float) -> None:
        """Follow a callback request through its attempts; the number is dropped once it is settled."""
        status = {"waiting": "pending"}.get(state, state)
        settled = status in ("done", "gave up")
        with self.db.atomic():
            existing = self.db.execute("SELECT id FROM callbacks WHERE request_id = ?", [request_id]).fetchone()
            queued = 0
            if existing is None:
                self.db["callbacks"].insert({
                    "request_id": request_id, "call_id": call_id, "caller_key": self.privacy.key(number),
                    "number": None if settled else number, "requested_at": at, "status": status,
                    "attempts": attempts, "detail": detail, "updated_at": at})
                queued = self._webhook("callback", at, {"request_id": request_id, "call_id": call_id,
                                                        "caller_key": self.privacy.key(number), "status": status})
            else:
                self.db.execute(
                    "UPDATE callbacks SET status = ?, attempts = ?, detail = ?, updated_at = ?, "
                    "done_at = CASE WHEN ? THEN ? ELSE done_at END, "
                    "number = CASE WHEN ? THEN NULL ELSE number END WHERE request_id = ?",
                    [status, attempts, detail, at, status == "done", at, settled, request_id])
        self._wake(queued)

    def callback_done(self, callback_id: int, by: str, *, now: float) -> None:
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE callbacks SET status = 'done', done_at = ?, done_by = ?, number = NULL "
                "WHERE id = ? AND status = 'pending'", [now, by, callback_id])
            if cursor.rowcount == 0:
                raise LookupError(f"no pending callback {callback_id}")

    def voicemail_listened(self, voicemail_id: int, *, now: float) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE voicemails SET listened_at = COALESCE(listened_at, ?) WHERE id = ?",
                            [now, voicemail_id])

    def idle(self) -> None:
        """The box's last call is over: the writer's cached pages (up to WRITER_CACHE_KIB) go back to the heap, for
        the heap's trim to return; the next call reads them from the OS's cache of calls.db (docs/proof.md, idle)."""
        self.db.execute("PRAGMA shrink_memory")

    def close(self) -> None:
        self.db.close()

    # --- helpers --------------------------------------------------------------

    def _protect_old_timelines(self) -> None:
        """Timelines written before numbers passed the rule (issue 15), or before the mode changed, are protected."""
        if self.privacy.mode == "full":
            return
        placeholders = ", ".join("?" * len(NUMBER_EVENTS))
        # Only details with digits that are not already a mask or a pseudonym: at most starts, none.
        rows = self.db.execute(f"SELECT rowid, event, detail FROM call_events WHERE detail GLOB '*[0-9]*' AND "
                               f"detail NOT GLOB '*[*]*' AND detail NOT GLOB '~*' AND "
                               f"(event IN ({placeholders}) OR event = 'COLLECT')", NUMBER_EVENTS).fetchall()
        changed = []
        for rowid, event, detail in rows:
            new = appear_in_event(event, detail, "timeline", policy=self.privacy)
            if not is_protected(detail) and new != detail:
                changed.append((new, rowid))
        if changed:
            with self.db.atomic():
                self.db.conn.executemany("UPDATE call_events SET detail = ? WHERE rowid = ?", changed)

    def _caller_key(self, call_id: str) -> str | None:
        row = self.db.execute("SELECT caller_key FROM calls WHERE id = ?", [call_id]).fetchone()
        if row is None:
            raise LookupError(f"no call {call_id}")
        return row[0]

    def _webhook(self, event: str, at: float, data: dict) -> int:
        return enqueue(self.db, self.webhooks, event, data, at) if self.webhooks else 0

    def _wake(self, queued: int) -> None:
        if queued and self.on_outbox is not None:
            self.on_outbox()
