"""The callbacks report per UTC day (migration 14): a year's report reads 365 rows, not every request.

The report counts the callback requests made in a period, those done, and the average delay from request to
done. Read from the requests themselves it grew with every call (41 ms for a year on 5M calls here, about
ten times that on a Pi Zero); now whole UTC days come from `stats_callback_days` and only the part-days
at the period's edges from the requests (the covering index `idx_callbacks_report`).

Unlike the call rollups, these rows always follow the requests: a request that retention or an erasure
deletes leaves the report, as it did when the report read the requests. Delays are summed in whole
milliseconds, so a figure does not depend on the order the rows were added.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from .rollups import DAY_SECONDS, floor_div

if TYPE_CHECKING:
    import sqlite_utils

TABLE = "stats_callback_days"
SUMS = ("requested", "done", "delay_n", "delay_ms")
_TRIGGER = "stats_callback_days_{when}"


def _terms(row: str = "") -> list[str]:
    """requested, done, delay_n, delay_ms of one request (`row` NEW or OLD) or, with no row, of each request."""
    prefix = f"{row}." if row else ""
    done = f"{prefix}status = 'done'"
    timed = f"{done} AND {prefix}done_at IS NOT NULL"
    delay = f"CAST(ROUND(({prefix}done_at - {prefix}requested_at) * 1000) AS INTEGER)"
    return ["1", done, timed, f"CASE WHEN {timed} THEN {delay} ELSE 0 END"]


def _fold(row: str, sign: int) -> str:
    """The statement adding (sign 1) or taking away (sign -1) one request's figures in its day's row."""
    values = ", ".join(f"{sign} * ({term})" for term in _terms(row))
    updates = ", ".join(f"{c} = {c} + excluded.{c}" for c in SUMS)
    return (f"INSERT INTO {TABLE} (day, {', '.join(SUMS)}) "
            f"SELECT {floor_div(f'{row}.requested_at', DAY_SECONDS)}, {values} "
            f"WHERE {row}.requested_at IS NOT NULL ON CONFLICT (day) DO UPDATE SET {updates};")


def create(db: sqlite_utils.Database | sqlite3.Connection) -> None:
    """Migration 14: the table, filled from the requests already stored, and the triggers keeping it."""
    sums = "INTEGER NOT NULL DEFAULT 0"
    db.execute(f"CREATE TABLE {TABLE} (day INTEGER PRIMARY KEY, {', '.join(f'{c} {sums}' for c in SUMS)})")
    db.execute(f"INSERT INTO {TABLE} (day, {', '.join(SUMS)}) "
               f"SELECT {floor_div('requested_at', DAY_SECONDS)}, {', '.join(f'SUM({t})' for t in _terms())} "
               f"FROM callbacks WHERE requested_at IS NOT NULL GROUP BY 1")
    db.execute(f"CREATE TRIGGER {_TRIGGER.format(when='ai')} AFTER INSERT ON callbacks BEGIN {_fold('NEW', 1)} END")
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("requested_at", "status", "done_at"))
    db.execute(f"CREATE TRIGGER {_TRIGGER.format(when='au')} AFTER UPDATE OF requested_at, status, done_at "
               f"ON callbacks WHEN {changed} BEGIN {_fold('OLD', -1)} {_fold('NEW', 1)} END")
    db.execute(f"CREATE TRIGGER {_TRIGGER.format(when='ad')} AFTER DELETE ON callbacks BEGIN {_fold('OLD', -1)} END")


def report(conn: sqlite3.Connection, whole: tuple[int, int] | None, edges: list[tuple[float, float]]) -> dict[str, Any]:
    """The four sums for the whole UTC days `whole` (from the table) and the instants `edges` (from the requests)."""
    parts, args = [], {}
    if whole:
        parts.append(f"SELECT {', '.join(SUMS)} FROM {TABLE} WHERE day >= :lo AND day < :hi")
        args["lo"], args["hi"] = whole
    for n, (a, b) in enumerate(edges):
        parts.append(f"SELECT {', '.join(f'TOTAL({t}) AS {c}' for t, c in zip(_terms(), SUMS, strict=True))} "
                     f"FROM callbacks "
                     f"WHERE requested_at >= :a{n} AND requested_at < :b{n}")
        args[f"a{n}"], args[f"b{n}"] = a, b
    (row,) = conn.execute(f"SELECT {', '.join(f'TOTAL({c})' for c in SUMS)} FROM ({' UNION ALL '.join(parts)})",
                          args).fetchall()
    return dict(zip(SUMS, (int(value) for value in row), strict=True))
