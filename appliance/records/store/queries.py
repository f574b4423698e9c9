"""Reading the call log: the web app and the API, on their own read-only connections."""

from __future__ import annotations

import heapq
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..privacy import PSEUDONYM_PREFIX, SECRET_FILE, Privacy, appear_in_event, has_digits, shown
from . import stats

_KEY = re.compile(r"^[0-9a-f]{32}$")
_FILTERS = ("since", "until", "outcome", "caller", "q", "call_type", "operator", "line")
# Up to this many matching notes a notes search reads them all (~10 ms on 5M calls); beyond, it walks the
# notes newest first (CallLog._by_notes).
_FEW_MATCHES = 1000
_WALK_AT_MOST = 500  # calls (limit + offset): the first ten pages of 50


# Per thread and database file: (device, inode) of the file it was opened on, the read-only connection.
# Opening one costs ~1 ms against microseconds for a query the dashboard runs a dozen of; a file replaced
# by a restore has a new inode, so its readers reopen rather than read the old one.
_readers = threading.local()


def _reader(path: Path) -> sqlite3.Connection:
    st = os.stat(path)
    held: dict[Path, tuple[tuple[int, int], sqlite3.Connection]] = _readers.__dict__.setdefault("held", {})
    identity = (st.st_dev, st.st_ino)
    if path in held and held[path][0] == identity:
        return held[path][1]
    if path in held:
        held.pop(path)[1].close()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=True)
    conn.row_factory = sqlite3.Row
    held[path] = (identity, conn)
    return conn


class CallLog:
    """A reader: one read-only connection per thread (never one per query), so it never blocks the daemon's
    writes and costs no connection set-up per query."""

    def __init__(self, path: str | Path, *, privacy: Privacy | None = None) -> None:
        self.path = Path(path)
        self._privacy = privacy

    @property
    def privacy(self) -> Privacy | None:
        """The box's pseudonym secret, read when first needed (searching by number needs it)."""
        if self._privacy is None and (self.path.parent / SECRET_FILE).exists():
            self._privacy = Privacy.for_data_dir(self.path.parent)
        return self._privacy

    def _connect(self) -> sqlite3.Connection:
        return _reader(self.path)

    def _query(self, sql: str, params: list | tuple = ()) -> list[dict]:
        if not self.path.exists():
            return []
        return [dict(row) for row in self._connect().execute(sql, params)]

    # --- lists ----------------------------------------------------------------

    def recent(self, limit: int = 50, offset: int = 0, *, role: str | None = None) -> list[dict]:
        rows = self._query("SELECT * FROM calls ORDER BY started_at DESC LIMIT ? OFFSET ?", [limit, offset])
        return [_public(row, role) for row in rows]

    def key_of_call(self, call_id: str) -> str | None:
        """The pseudonym key of a call's caller (None when withheld); LookupError for no such call."""
        rows = self._query("SELECT caller_key FROM calls WHERE id = ?", [call_id])
        if not rows:
            raise LookupError(f"no call {call_id!r}")
        return rows[0]["caller_key"]

    def caller_key(self, caller: str) -> str | None:
        """Whatever a person typed to find a caller: a number, a pseudonym ('~...'), or a caller key."""
        caller = caller.strip()
        if not has_digits(caller):
            raise ValueError(f"{caller!r} has no digits: a withheld or anonymous caller has no history to look up")
        if _KEY.match(caller):
            return caller
        if caller.startswith(PSEUDONYM_PREFIX):
            rows = self._query("SELECT caller_key FROM calls WHERE caller = ? LIMIT 1", [caller])
            return rows[0]["caller_key"] if rows else None
        if self.privacy is None:
            raise ValueError("cannot look a number up: this box has no privacy key yet")
        return self.privacy.key(caller)

    def _where(self, filters: dict[str, Any]) -> tuple[str, list]:
        unknown = set(filters) - set(_FILTERS)
        if unknown:
            raise ValueError(f"unknown call filter(s): {', '.join(sorted(unknown))}")
        clauses, params = [], []
        if filters.get("since") is not None:
            clauses.append("started_at >= ?")
            params.append(float(filters["since"]))
        if filters.get("until") is not None:
            clauses.append("started_at < ?")
            params.append(float(filters["until"]))
        for column in ("outcome", "call_type", "operator", "line"):
            if filters.get(column):
                clauses.append(f"{column} = ?")
                params.append(filters[column])
        if filters.get("caller"):
            clauses.append("caller_key = ?")
            params.append(self.caller_key(filters["caller"]))
        if filters.get("q"):
            clauses.append("id IN (SELECT call_id FROM notes WHERE id IN "
                           "(SELECT rowid FROM notes_fts WHERE notes_fts MATCH ?))")
            params.append(fts_query(filters["q"]))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def search(self, *, limit: int = 100, offset: int = 0, role: str | None = None, **filters: Any) -> list[dict]:
        """Calls matching the filters (since, until, outcome, caller, q, call_type, operator, line), newest first."""
        where, params = self._where(filters)
        if filters.get("q"):
            rows = self._by_notes(filters, limit, offset)
            if rows is None:
                rows = self._all_matches(where, params, limit, offset)
            return [_public(row, role) for row in rows]
        return [_public(row, role) for row in self._page("calls", where, params, limit, offset)]

    def _page(self, source: str, where: str, params: list, limit: int, offset: int) -> list[dict]:
        # The page's calls are chosen from indexes (their rowids), and only those rows are read whole.
        return self._query(f"SELECT * FROM calls WHERE rowid IN (SELECT rowid FROM {source}{where} "
                           "ORDER BY started_at DESC LIMIT ? OFFSET ?) ORDER BY started_at DESC",
                           [*params, limit, offset])

    def _all_matches(self, where: str, params: list, limit: int, offset: int) -> list[dict]:
        """A notes search that reads every matching note: quickest when they are few."""
        try:
            # each match's call sorted by its start from (id, started_at): SQLite would rather take the unique
            # index on id and read the row for started_at
            return self._page("calls INDEXED BY idx_calls_id_started", where, params, limit, offset)
        except sqlite3.OperationalError as exc:
            # The index comes with migration 8: a database the daemon has not migrated yet (a restored older
            # one, read before the next start) is searched without it, only slower.
            if "no such index" not in str(exc):
                raise
            return self._page("calls", where, params, limit, offset)

    def _by_notes(self, filters: dict[str, Any], limit: int, offset: int) -> list[dict] | None:
        """A notes search with many matches, read newest note first and stopped once its page is complete.

        Reading every match cost one lookup per matching note (80-250 ms for a common word on 5M calls). A note
        is never stamped before its call began (CallStore.add_note, migration 16), so once `limit + offset`
        calls have started after the note in hand, no note further down can bring a call onto the page.
        None when the matches are few or the page deep (reading them all is quicker), or the database predates
        migration 16.
        """
        if limit + offset > _WALK_AT_MOST:
            return None  # a deep page: each call on the way costs a lookup, more than reading every match
        if not self.path.exists():
            return []
        conn = self._connect()
        text = fts_query(filters["q"])
        many = conn.execute("SELECT count(*) FROM (SELECT 1 FROM notes_fts WHERE notes_fts MATCH ? LIMIT ?)",
                            [text, _FEW_MATCHES + 1]).fetchone()[0]
        if many <= _FEW_MATCHES:
            return None
        where, params = self._where({k: v for k, v in filters.items() if k != "q"})
        check = "SELECT rowid, started_at FROM calls WHERE id = ?" + where.replace(" WHERE ", " AND ", 1)
        wanted, since = limit + offset, filters.get("since")
        seen: set[str] = set()
        found: list[tuple[float, int]] = []  # (started_at, rowid) of the calls that make it
        latest: list[float] = []  # a min-heap of the `wanted` latest starts among them
        try:
            notes = conn.execute("SELECT at, call_id FROM notes INDEXED BY idx_notes_at WHERE id IN "
                                 "(SELECT rowid FROM notes_fts WHERE notes_fts MATCH ?) ORDER BY at DESC", [text])
        except sqlite3.OperationalError as exc:
            if "no such index" not in str(exc):
                raise
            return None
        try:
            for at, call_id in notes:
                if (len(latest) >= wanted and latest[0] >= at) or (since is not None and at < float(since)):
                    break
                if call_id in seen:
                    continue
                seen.add(call_id)
                row = conn.execute(check, [call_id, *params]).fetchone()
                if row is None:  # the other filters leave it out
                    continue
                found.append((row[1], row[0]))
                if len(latest) < wanted:
                    heapq.heappush(latest, row[1])
                elif row[1] > latest[0]:
                    heapq.heapreplace(latest, row[1])
        finally:
            notes.close()
        page = [rowid for _, rowid in sorted(found, reverse=True)[offset:wanted]]
        return self._query(f"SELECT * FROM calls WHERE rowid IN ({', '.join('?' * len(page))}) "
                           "ORDER BY started_at DESC", page)

    def iter_calls(self, *, role: str | None = None, batch: int = 500, **filters: Any) -> Iterator[dict]:
        """Every matching call, oldest first, a batch at a time (for streaming exports of any size).

        Bad filters raise here, before anything is read or sent."""
        where, params = self._where(filters)
        return self._iterate(f"SELECT * FROM calls{where} ORDER BY started_at", params, role, batch)

    def _iterate(self, sql: str, params: list, role: str | None, batch: int) -> Iterator[dict]:
        if not self.path.exists():
            return
        cursor = self._connect().execute(sql, params)
        try:
            while rows := cursor.fetchmany(batch):
                for row in rows:
                    yield _public(dict(row), role)
        finally:
            cursor.close()  # an export stopped half-way must not hold its read snapshot

    # --- one call -------------------------------------------------------------

    def call(self, call_id: str, *, role: str | None = None) -> dict | None:
        """One call with its timeline, what was left and written about it, and the caller's history."""
        rows = self._query("SELECT * FROM calls WHERE id = ?", [call_id])
        if not rows:
            return None
        call = _public(rows[0], role)
        for name, sql in (
            ("events", "SELECT at, event, handset, detail FROM call_events WHERE call_id = ? ORDER BY at, id"),
            ("notes", "SELECT id, at, author, text FROM notes WHERE call_id = ? ORDER BY at"),
            ("tickets", "SELECT id, title, status, assignee, created_at, updated_at, closed_at FROM tickets "
                        "WHERE call_id = ? ORDER BY id"),
            ("voicemails", "SELECT id, at, path, seconds, listened_at, cut_short FROM voicemails WHERE call_id = ?"),
            ("callbacks", "SELECT id, requested_at, status, done_at, done_by FROM callbacks WHERE call_id = ?"),
            ("recordings", "SELECT id, at, path, seconds, cut_short FROM recordings WHERE call_id = ?"),
        ):
            call[name] = self._query(sql, [call_id])
        if role is not None:
            for event in call["events"]:
                event["detail"] = appear_in_event(event["event"], event["detail"], "view", role=role)
        call["history"] = self.history(rows[0]["caller_key"], before=rows[0]["started_at"], role=role)
        return call

    def history(self, caller_key: str | None, *, before: float | None = None, limit: int = 10,
                role: str | None = None) -> dict:
        """How often this caller called before, when, how it went, and what operators wrote."""
        if caller_key is None:
            return {"count": 0, "first": None, "last": None, "outcomes": {}, "calls": [], "notes": [],
                    "contact": None, "open_tickets": []}
        bound = float("inf") if before is None else before
        summary = self._query("SELECT COUNT(*) AS count, MIN(started_at) AS first, MAX(started_at) AS last "
                              "FROM calls WHERE caller_key = ? AND started_at < ?", [caller_key, bound])
        outcomes = self._query("SELECT COALESCE(outcome, 'in progress') AS outcome, COUNT(*) AS n FROM calls "
                               "WHERE caller_key = ? AND started_at < ? GROUP BY 1", [caller_key, bound])
        calls = self._query(
            "SELECT id, started_at, outcome, call_type, category, operator, talk_seconds FROM calls "
            "WHERE caller_key = ? AND started_at < ? ORDER BY started_at DESC LIMIT ?", [caller_key, bound, limit])
        notes = self._query("SELECT n.call_id, n.at, n.author, n.text FROM notes n JOIN calls c ON c.id = n.call_id "
                            "WHERE n.caller_key = ? AND c.started_at < ? ORDER BY n.at DESC LIMIT 50",
                            [caller_key, bound])
        contact = self._query("SELECT number, name, note FROM contacts WHERE caller_key = ?", [caller_key])
        if contact:
            contact[0]["number"] = shown(contact[0]["number"], role)
        tickets = self._query("SELECT id, call_id, title, status, assignee, updated_at FROM tickets "
                              "WHERE caller_key = ? AND status != 'closed' ORDER BY id", [caller_key])
        return {**summary[0], "outcomes": {r["outcome"]: r["n"] for r in outcomes}, "calls": calls,
                "notes": notes, "contact": contact[0] if contact else None, "open_tickets": tickets,
                "risk": self._risk(caller_key)}

    def _risk(self, caller_key: str) -> dict | None:
        """The caller's risk flag and safety plan (None: none written, or a log older than migration 12)."""
        try:
            found = self._query("SELECT risk, reason, safety_plan, updated_at, updated_by FROM caller_risk "
                                "WHERE caller_key = ?", [caller_key])
        except sqlite3.OperationalError:
            return None
        return found[0] if found else None

    # --- statistics -----------------------------------------------------------

    def stats(self, since: float, until: float, **options: Any) -> dict:
        """The dashboard figures for calls started in [since, until); see appliance.records.store.stats.dashboard."""
        if not self.path.exists():
            return stats.empty(since, until)
        return stats.dashboard(self._connect(), since, until, **options)


def fts_query(text: str) -> str:
    """Free text as an FTS5 query of quoted word prefixes (all must match), so no input is a syntax error."""
    words = re.findall(r"\w+", text)
    if not words:
        raise ValueError(f"search text {text!r} has no words in it")
    return " ".join(f'"{word}"*' for word in words)


def _public(row: dict, role: str | None) -> dict:
    row.pop("extra", None)
    row.pop("progress", None)  # a live call's heartbeat copy of its record: the daemon's, for after a crash
    row["caller"] = shown(row.get("caller"), role) if role is not None else row.get("caller")
    return row
