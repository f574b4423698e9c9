"""Read-only queries on the daemon's calls.db: the call log with filters, one call, today's figures, statistics."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

CSV_FIELDS = ("id", "started_at", "line", "caller", "menu_path", "skill", "handset", "operator", "wait_seconds",
              "talk_seconds", "outcome", "ended_by", "reason")
SERVICE_LEVEL_SECONDS = 20  # answered within this wait counts towards the service level


@dataclass(frozen=True)
class Filters:
    day_from: date | None = None
    day_to: date | None = None
    search: str = ""
    outcome: str = ""
    operator: str = ""

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        """Filters from a query string; a malformed date raises ValueError naming the field."""
        days = {}
        for name in ("from", "to"):
            raw = args.get(name, "")
            try:
                days[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                raise ValueError(f"{name}: {raw!r} is not a date like 2025-01-31") from None
        return cls(days["from"], days["to"], args.get("q", "").strip()[:64], args.get("outcome", "").strip(),
                   args.get("operator", "").strip())

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = ["1=1"], []
        if self.day_from:
            clauses.append("started_at >= ?")
            params.append(_midnight(self.day_from))
        if self.day_to:
            clauses.append("started_at < ?")
            params.append(_midnight(self.day_to + timedelta(days=1)))
        if self.search:
            clauses.append("(caller LIKE ? OR menu_path LIKE ? OR operator LIKE ? OR id = ?)")
            like = f"%{self.search}%"
            params += [like, like, like, self.search]
        if self.outcome:
            clauses.append("outcome = ?")
            params.append(self.outcome)
        if self.operator:
            clauses.append("operator = ?")
            params.append(self.operator)
        return " AND ".join(clauses), params


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day).timestamp()


class Calls:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql, params)]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []  # the daemon has not made its schema yet
            raise
        finally:
            conn.close()

    def search(self, filters: Filters, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        where, params = filters.where()
        return self._rows(f"SELECT * FROM calls WHERE {where} ORDER BY started_at DESC LIMIT ? OFFSET ?",
                          [*params, limit, offset])

    def one(self, call_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM calls WHERE id = ?", [call_id])
        return rows[0] if rows else None

    def history(self, caller: str | None, limit: int = 20) -> list[dict[str, Any]]:
        if not caller:
            return []  # withheld numbers have no history to show
        return self._rows("SELECT * FROM calls WHERE caller = ? ORDER BY started_at DESC LIMIT ?", [caller, limit])

    def figures(self, filters: Filters) -> dict[str, Any]:
        """Counts and averages over the filtered calls (finished ones)."""
        where, params = filters.where()
        rows = self._rows(
            "SELECT COUNT(*) AS total, "
            "SUM(outcome = 'completed') AS answered, SUM(outcome = 'abandoned') AS abandoned, "
            "SUM(outcome = 'no answer') AS unanswered, AVG(wait_seconds) AS average_wait, "
            "AVG(talk_seconds) AS average_talk, "
            f"SUM(outcome = 'completed' AND wait_seconds <= {SERVICE_LEVEL_SECONDS}) AS answered_in_time, "
            "SUM(wait_seconds IS NOT NULL) AS queued "
            f"FROM calls WHERE ended_at IS NOT NULL AND {where}", params)
        row = rows[0] if rows else {}
        figures = {key: row.get(key) or 0 for key in ("total", "answered", "abandoned", "unanswered", "queued",
                                                      "answered_in_time")}
        figures["average_wait"] = round(row.get("average_wait") or 0, 1)
        figures["average_talk"] = round(row.get("average_talk") or 0, 1)
        queued = figures.pop("queued")
        figures["service_level"] = round(100 * figures.pop("answered_in_time") / queued) if queued else None
        return figures

    def today(self) -> dict[str, Any]:
        return self.figures(Filters(day_from=date.fromtimestamp(time.time())))

    def by_menu(self, filters: Filters) -> list[dict[str, Any]]:
        where, params = filters.where()
        return self._rows(f"SELECT menu_path, COUNT(*) AS calls, SUM(outcome = 'completed') AS answered "
                          f"FROM calls WHERE {where} GROUP BY menu_path ORDER BY calls DESC", params)

    def csv(self, filters: Filters) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_FIELDS)
        for row in self.search(filters, limit=100_000):
            values = [row.get(name) for name in CSV_FIELDS]
            values[1] = datetime.fromtimestamp(row["started_at"]).isoformat(timespec="seconds")
            # A caller field starting with = + - @ would run as a formula in a spreadsheet.
            writer.writerow(["'" + v if isinstance(v, str) and v[:1] in "=+-@" else v for v in values])
        return out.getvalue()


def timeline(call: dict[str, Any]) -> list[tuple[float, str]]:
    """The moments of one call, in order, for its detail page."""
    events = [(call["started_at"], f"rang on line {call['line']}" + (f" from {call['caller']}" if call['caller']
                                                                       else " (number withheld)"))]
    if call.get("answered_at"):
        events.append((call["answered_at"], "answered by the box"))
    if call.get("nodes"):
        events.append((call.get("answered_at") or call["started_at"], "went through " + call["nodes"].replace(
            ",", " → ")))
    if call.get("menu_path"):
        events.append((call.get("answered_at") or call["started_at"], f"pressed {call['menu_path']}"))
    if call.get("operator") and call.get("ended_at") and call.get("talk_seconds") is not None:
        events.append((call["ended_at"] - call["talk_seconds"], f"connected to {call['operator']} "
                                                                 f"on {call['handset']}"))
    if call.get("ended_at"):
        events.append((call["ended_at"], f"ended: {call['outcome']} by {call['ended_by']}"
                                         + (f" ({call['reason']})" if call.get("reason") else "")))
    return sorted(events, key=lambda e: e[0])
