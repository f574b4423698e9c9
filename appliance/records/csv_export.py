"""CSV export of the call log, streamed a row at a time so a year of calls never sits in memory."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

from .store.queries import CallLog

COLUMNS = (
    "id", "line", "caller", "caller_key", "started_at", "answered_at", "queued_at", "connected_at", "ended_at",
    "menu_path", "skill", "handset", "operator", "wait_seconds", "talk_seconds", "outcome", "ended_by", "reason",
    "call_type", "category", "survey_score",
)
_TIMES = {"started_at", "answered_at", "queued_at", "connected_at", "ended_at"}


def _iso(value: float | None) -> str:
    return "" if value is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))


def export_calls(log: CallLog, *, role: str, **filters: Any) -> Iterator[str]:
    """Header then one CSV line per call (times in UTC ISO 8601), oldest first; filters as CallLog.search."""
    rows = log.iter_calls(role=role, **filters)  # bad filters raise here, before the first line is sent
    return _lines(rows)


def _lines(rows: Iterator[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(list(COLUMNS))
    for row in rows:
        yield line([_iso(row.get(c)) if c in _TIMES else _text(row.get(c)) for c in COLUMNS])


def _text(value: object) -> object:
    """Spreadsheets run cells that start with = + - @ as formulas; such text gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _is_number(value):
        return "'" + value
    return "" if value is None else value


def _is_number(value: str) -> bool:
    return value.lstrip("+-").replace(" ", "").replace("*", "").replace("-", "").isdigit()
