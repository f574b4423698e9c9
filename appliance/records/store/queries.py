"""Reading the call log: the web app and the API, on their own read-only connections."""

from __future__ import annotations

import heapq
import math
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..privacy import PSEUDONYM_PREFIX, SECRET_FILE, Privacy, appear_in_event, has_digits, shown
from . import stats
from .migrations import NOTE_PLACE_BITS

_KEY = re.compile(r"^[0-9a-f]{32}$")
_FILTERS = ("since", "until", "outcome", "caller", "q", "call_type", "operator", "line")
_CURSOR = re.compile(r"^(-?[0-9][0-9.e+-]*)_([0-9]+)$")


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

    def _where(self, filters: dict[str, Any], notes_by: str = "sort_key", each: bool = False) -> tuple[str, list]:
        """SQL conditions on calls; `notes_by` the notes' column the full-text index is keyed by (`id` before
        migration 17); `each`: a call's notes are checked call by call (a caller's few calls), not every match
        gathered first."""
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
            matches = "(SELECT rowid FROM notes_fts WHERE notes_fts MATCH ?)"
            # (each: `+` keeps SQLite from looking every match up per call: the call's notes are tested instead)
            clauses.append(f"EXISTS (SELECT 1 FROM notes n WHERE n.call_id = calls.id AND +n.{notes_by} IN {matches})"
                           if each else f"id IN (SELECT call_id FROM notes WHERE {notes_by} IN {matches})")
            params.append(fts_query(filters["q"]))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def search(self, *, limit: int = 100, offset: int = 0, role: str | None = None, **filters: Any) -> list[dict]:
        """Calls matching the filters (since, until, outcome, caller, q, call_type, operator, line), newest first."""
        return self.page(limit=limit, offset=offset, role=role, **filters).calls

    def page(self, *, limit: int = 50, offset: int = 0, after: str | None = None, before: str | None = None,
             role: str | None = None, **filters: Any) -> Page:
        """One page of a search, newest first: the calls just older than the cursor `after`, or just newer than
        `before` (cursors are a call's place, `Page.next` and `Page.previous`), skipping `offset` of them.

        A page is read from an index in the calls' order from the cursor on and stopped once full, so its cost
        does not grow with its depth; an offset costs its rows. New calls arriving between pages move nothing:
        following `next` from the first page walks every match once."""
        if after and before:
            raise ValueError("a page is either after a call or before one: give after or before, not both")
        backward = bool(before)
        given = before if backward else after
        mark = place_of("before" if backward else "after", given) if given else None  # an empty one: the top
        if not self.path.exists():
            return Page([], None, None)
        want = offset + limit + 1  # one more tells whether a page follows
        if filters.get("q"):
            places = self._noted(filters, mark, backward, want)
        else:
            places = self._ordered(filters, mark, backward, want)
        places = places[offset:]
        more = len(places) > limit
        places = places[:limit]
        if backward:
            places.reverse()
        rows = self._query(f"SELECT * FROM calls WHERE rowid IN ({', '.join('?' * len(places))}) "
                           "ORDER BY started_at DESC, rowid DESC", [rowid for _, rowid in places]) if places else []
        newest, oldest = (cursor(*places[0]), cursor(*places[-1])) if places else (None, None)
        if backward:
            following, preceding = oldest, newest if more else None
        else:
            following, preceding = (oldest if more else None), (newest if mark is not None or offset else None)
        return Page([_public(row, role) for row in rows], following, preceding)

    def _ordered(self, filters: dict[str, Any], mark: tuple[float, int] | None, backward: bool, want: int,
                 notes_by: str = "sort_key", each: bool = False) -> list[tuple[float, int]]:
        """The (start, rowid) of the first `want` matching calls from the cursor on, from the calls' indexes."""
        where, params = self._where(filters, notes_by, each)
        if mark is not None:
            sign = ">" if backward else "<"
            clause = f"started_at {sign}= ? AND (started_at {sign} ? OR rowid {sign} ?)"
            where = f"{where} AND {clause}" if where else f" WHERE {clause}"
            params = [*params, mark[0], mark[0], mark[1]]
        order = "ASC" if backward else "DESC"
        return [tuple(row) for row in self._connect().execute(
            f"SELECT started_at, rowid FROM calls{where} ORDER BY started_at {order}, rowid {order} LIMIT ?",
            [*params, want])]

    def _noted(self, filters: dict[str, Any], mark: tuple[float, int] | None, backward: bool,
               want: int) -> list[tuple[float, int]]:
        """A notes search: the matching notes read from the full-text index in their calls' order (the index is
        keyed by each note's place: its call's start in ms, then the note; migration 17), from the cursor on,
        each new call checked against the other filters, stopped once `want` calls are found and the notes
        left belong to calls that began later (backward) or earlier than all of them."""
        if filters.get("caller"):
            # A caller's calls are few (their own index): each is checked for a matching note, in order.
            return self._ordered(filters, mark, backward, want, each=True)
        text = fts_query(filters["q"])
        where, params = self._where({k: v for k, v in filters.items() if k != "q"})
        # (id, started_at) holds all a call's check needs when no other filter reads its row
        calls = "calls" if where else "calls INDEXED BY idx_calls_id_started"
        check = f"SELECT started_at, rowid FROM {calls} WHERE id = ?" + where.replace(" WHERE ", " AND ", 1)
        low, high = [], []  # the range of places to read: from each low (inclusive) to each high (exclusive)
        if filters.get("since") is not None:
            low.append(_ms(filters["since"]) << NOTE_PLACE_BITS)
        if filters.get("until") is not None:
            high.append((_ms(filters["until"]) + 1) << NOTE_PLACE_BITS)
        if mark is not None:
            (low if backward else high).append((_ms(mark[0]) + (0 if backward else 1)) << NOTE_PLACE_BITS)
        bounds = ([f"rowid >= {max(low)}"] if low else []) + ([f"rowid < {min(high)}"] if high else [])
        conn = self._connect()
        try:
            notes = conn.execute(
                "SELECT rowid, (SELECT call_id FROM notes INDEXED BY idx_notes_sort WHERE sort_key = notes_fts.rowid) "
                f"FROM notes_fts WHERE {' AND '.join(['notes_fts MATCH ?', *bounds])} "
                f"ORDER BY rowid {'ASC' if backward else 'DESC'}", [text])
        except sqlite3.OperationalError as exc:
            if "idx_notes_sort" not in str(exc):
                raise
            # A log older than migration 17 (a restored one, read before the daemon's next start): its index is
            # keyed by note, so every match is read, only slower.
            return self._ordered(filters, mark, backward, want, notes_by="id")
        sign = 1 if backward else -1  # keys compared as sign * (start, rowid): the page's best are the smallest
        seen: set[str] = set()
        best: list[tuple[float, int]] = []  # a max-heap (negated keys) of the `want` best calls so far
        try:
            for place, call_id in notes:
                if len(best) >= want and sign * (place >> NOTE_PLACE_BITS) > sign * _ms(-best[0][0] * sign):
                    break  # every call still to come began after (backward) or before the last one kept
                if call_id in seen:
                    continue
                seen.add(call_id)
                row = conn.execute(check, [call_id, *params]).fetchone()
                if row is None:  # the other filters leave it out
                    continue
                key = (sign * row[0], sign * row[1])
                if mark is not None and key <= (sign * mark[0], sign * mark[1]):
                    continue  # on the cursor's side of it: shown on an earlier page
                if len(best) < want:
                    heapq.heappush(best, (-key[0], -key[1]))
                elif key < (-best[0][0], -best[0][1]):
                    heapq.heapreplace(best, (-key[0], -key[1]))
        finally:
            notes.close()
        return sorted(((-k0 * sign, -k1 * sign) for k0, k1 in best), reverse=not backward)

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


@dataclass(frozen=True)
class Page:
    """One page of a search, newest call first, and the cursors of the pages beside it (None: there is none)."""

    calls: list[dict]
    next: str | None  # `after` of the page of older calls
    previous: str | None  # `before` of the page of newer calls


def cursor(started_at: float, rowid: int) -> str:
    """A call's place in every search (its start, then its row) as a page cursor: `1717199999.25_4812`."""
    return f"{started_at!r}_{rowid}"


def place_of(name: str, text: str) -> tuple[float, int]:
    """The place a cursor names; ValueError naming the parameter for anything else."""
    found = _CURSOR.match(text.strip())
    try:
        if found and math.isfinite(float(found[1])):
            return float(found[1]), int(found[2])
    except ValueError:
        pass
    raise ValueError(f"{name}={text!r} is not a page cursor (the next and previous links carry them, "
                     "as a call's start and row: 1717199999.25_4812)")


def _ms(moment: float) -> int:
    # As SQLite makes a note's place (migrations.note_place): the same double product, truncated.
    return int(float(moment) * 1000)


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
