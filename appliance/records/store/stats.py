"""Dashboard statistics in SQL, in the terms of Asterisk's queue_log reports.

Every figure is for calls *started* in [since, until). The per-call milestones
(queued, connected, waits, talk time, survey score) come from each call's event
timeline and are folded into the calls row when it is written. The rollup
tables of migration 6 (kept in step by triggers) add those rows up per UTC
quarter-hour and per UTC day, so a figure reads the rollups for the whole
quarter-hours or days inside the period and the calls themselves (one range
scan of the covering index `idx_calls_stats`, or `idx_events_kind` for
handsets) only for the part-days at its edges. Both give the same numbers.

* offered: calls that entered the operator queue
* answered: calls connected to an operator
* abandoned: callers who hung up while queued; short abandons (waited less than
  `short_abandon` seconds) are counted apart and left out of the rates
* ASA: average speed of answer (queue wait of the answered calls)
* service level: answered within `service_level` seconds / (offered - short abandons)

Averages and totals of durations are taken over whole milliseconds and rounded
half to even, exactly. Thresholds in whole seconds and UTC offsets in whole
quarter-hours are served from the rollups; others are counted on the calls.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from . import callback_days
from .rollups import DAY_SECONDS, ROLLUPS, SLOT_SECONDS, TIME_ROLLUPS, TIME_SUMS


def _rows(conn: sqlite3.Connection, sql: str, params: dict) -> list[sqlite3.Row]:
    conn.row_factory = sqlite3.Row
    return conn.execute(sql, params).fetchall()


RANGE = "started_at >= :since AND started_at < :until"
_RAW = {
    "calls": "(SELECT {columns} FROM calls INDEXED BY idx_calls_stats WHERE started_at >= :{a} AND started_at < :{b})",
    "call_events": "(SELECT {columns} FROM call_events INDEXED BY idx_events_kind "
                   "WHERE event IN ('CONNECT', 'RINGNOANSWER') AND at >= :{a} AND at < :{b})",
}


def _split(since: float, until: float, unit: int) -> tuple[tuple[int, int] | None, list[tuple[float, float]]]:
    """The whole units inside [since, until) and the part-units left at either edge."""
    lo, hi = math.ceil(since / unit), math.floor(until / unit)
    lo += (lo * unit < since) - ((lo - 1) * unit >= since)  # the division may have rounded either way
    hi += ((hi + 1) * unit <= until) - (hi * unit > until)
    if lo >= hi:
        return None, [(since, until)]
    return (lo, hi), [(a, b) for a, b in ((since, lo * unit), (hi * unit, until)) if a < b]


def _pieces(since: float, until: float, units: list[int]) -> list[tuple[int | None, float, float]]:
    """The period as (level, from, to): whole units[0] inside it, then whole units[1] in what is left at the
    edges, and so on; level None for what no unit covers (counted on the calls)."""
    if not units:
        return [(None, since, until)]
    whole, edges = _split(since, until, units[0])
    pieces: list[tuple[int | None, float, float]] = [(0, *whole)] if whole else []
    for a, b in edges:
        pieces += [(None if level is None else level + 1, x, y) for level, x, y in _pieces(a, b, units[1:])]
    return pieces


def _over_time(p: dict, unit: int | None = None) -> tuple[str, dict]:
    """SQL for rows of every summary figure, each with `at`, the second it starts, covering the period: the
    coarsest stored rows that fit (days, hours, quarter-hours), then calls at the edges. With `unit`, only
    rows that fall wholly inside one local `unit` (offset by utc_offset) are used."""
    levels = [(table, key, size) for table, (key, size) in reversed(TIME_ROLLUPS.items())
              if table in p["tables"] and (unit is None or (unit % size == 0 and float(p["offset"]) % size == 0))]
    names = ", ".join([*TIME_SUMS, "longest_wait"])
    parts, args = [], {}
    for n, (level, a, b) in enumerate(_pieces(p["since"], p["until"], [size for *_, size in levels])):
        if level is None:
            src = _RAW["calls"].format(columns=", ".join(ROLLUPS["stats_slots"][0]), a=f"a{n}", b=f"b{n}")
            parts.append(f"SELECT slot * {SLOT_SECONDS} AS at, {names} "
                         f"FROM ({ROLLUPS['stats_slots'][3].format(src=src)})")
        else:
            table, key, size = levels[level]
            parts.append(f"SELECT {key} * {size} AS at, {names} FROM {table} WHERE {key} >= :a{n} AND {key} < :b{n}")
        args[f"a{n}"], args[f"b{n}"] = a, b
    return " UNION ALL ".join(parts), args


def _source(table: str, p: dict, where: str = "") -> tuple[str, dict]:
    """SQL for rows of a daily rollup covering the period: stored days for whole UTC days, calls at the edges
    (`where` narrows the stored rows)."""
    columns, keys, sums, select = ROLLUPS[table]
    names = ", ".join([*keys, *sums])
    whole, edges = _split(p["since"], p["until"], DAY_SECONDS) if p["rollups"] else (None, [(p["since"], p["until"])])
    parts, args = [], {}
    if whole:
        parts.append(f"SELECT {names} FROM {table} WHERE {keys[0]} >= :lo AND {keys[0]} < :hi{where}")
        args["lo"], args["hi"] = whole
    raw = _RAW["call_events" if table == "stats_day_handsets" else "calls"]
    for n, (a, b) in enumerate(edges):
        src = raw.format(columns=", ".join(columns), a=f"a{n}", b=f"b{n}")
        parts.append(f"SELECT {names} FROM ({select.format(src=src)})")
        args[f"a{n}"], args[f"b{n}"] = a, b
    return " UNION ALL ".join(parts), args


def _mean(total: int, count: int, places: int, unit: int = 1000) -> float | None:
    """An exact average of whole units (milliseconds), rounded half to even."""
    return float(round(Fraction(total, unit * count), places)) if count else None


def _thresholds(conn: sqlite3.Connection, p: dict) -> tuple[int, int]:
    """(answered within the service level, short abandons): per-second counts for whole days, calls elsewhere."""
    whole_seconds = float(p["sl"]).is_integer() and float(p["short"]).is_integer()
    whole, edges = (_split(p["since"], p["until"], DAY_SECONDS) if p["rollups"] and whole_seconds
                    else (None, [(p["since"], p["until"])]))
    within = short = 0
    if whole:
        # One wait second at a time up to the threshold, each a range of the period's days in the index
        # (kind, value, day): a year at a 20 s service level reads 21 x 365 counts, not the year's every wait.
        counted = """
            WITH RECURSIVE seconds(s) AS (
                SELECT MIN(0, COALESCE((SELECT MIN(value) FROM stats_day_counts WHERE kind = :kind), 0))
                UNION ALL SELECT s + 1 FROM seconds WHERE s + 1 <= :top)
            SELECT TOTAL(n) AS n FROM seconds JOIN stats_day_counts
                ON kind = :kind AND value = s AND day >= :lo AND day < :hi WHERE s <= :top"""
        days = {"lo": whole[0], "hi": whole[1]}
        within = int(_rows(conn, counted, {**days, "kind": "answered_wait", "top": p["sl"]})[0]["n"])
        short = int(_rows(conn, counted, {**days, "kind": "abandoned_wait", "top": p["short"] - 1})[0]["n"])
    for a, b in edges:
        (row,) = _rows(conn, """
            SELECT COUNT(CASE WHEN connected_at IS NOT NULL AND wait_seconds <= :sl THEN 1 END) AS within,
                   COUNT(CASE WHEN outcome = 'abandoned' AND COALESCE(wait_seconds, 0) < :short THEN 1 END) AS short
            FROM calls INDEXED BY idx_calls_stats WHERE started_at >= :a AND started_at < :b""",
                       {**p, "a": a, "b": b})
        within, short = within + row["within"], short + row["short"]
    return within, short


def summary(conn: sqlite3.Connection, p: dict) -> dict[str, Any]:
    src, args = _over_time(p)
    (row,) = _rows(conn, f"""
        SELECT COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(offered), 0) AS offered,
               COALESCE(SUM(answered), 0) AS answered, COALESCE(SUM(abandoned), 0) AS abandoned,
               COALESCE(SUM(wait_n), 0) AS wait_n, COALESCE(SUM(wait_ms), 0) AS wait_ms,
               COALESCE(SUM(talk_n), 0) AS talk_n, COALESCE(SUM(talk_ms), 0) AS talk_ms,
               MAX(longest_wait) AS longest_wait, COALESCE(SUM(surveys), 0) AS surveys,
               COALESCE(SUM(survey_total), 0) AS survey_total
        FROM ({src})""", args)
    within, short = _thresholds(conn, p)
    out = {"calls": row["calls"], "offered": row["offered"], "answered": row["answered"],
           "abandoned": row["abandoned"], "short_abandoned": short, "asa": _mean(row["wait_ms"], row["wait_n"], 2),
           "within_service_level": within, "average_talk": _mean(row["talk_ms"], row["talk_n"], 2),
           "longest_wait": row["longest_wait"], "survey_average": _mean(row["survey_total"], row["surveys"], 2, 1),
           "surveys": row["surveys"]}
    counted = out["offered"] - out["short_abandoned"]
    out["service_level"] = round(out["within_service_level"] / counted, 4) if counted else None
    out["abandon_rate"] = round((out["abandoned"] - out["short_abandoned"]) / counted, 4) if counted else None
    return out


def _counts(conn: sqlite3.Connection, p: dict, kind: str) -> dict[str, int]:
    src, args = _source("stats_day_counts", p, " AND kind = :kind")
    rows = _rows(conn, f"SELECT value, SUM(n) AS n FROM ({src}) WHERE kind = :kind GROUP BY value "
                       f"HAVING SUM(n) > 0 ORDER BY value", {**args, "kind": kind})
    return {str(r["value"]): r["n"] for r in rows}


def outcomes(conn: sqlite3.Connection, p: dict) -> dict[str, int]:
    """Calls by outcome; calls still going show as 'in progress'."""
    return _counts(conn, p, "outcome")


def call_types(conn: sqlite3.Connection, p: dict) -> dict[str, int]:
    return _counts(conn, p, "call_type")


def surveys(conn: sqlite3.Connection, p: dict) -> dict[str, int]:
    return {str(score): 0 for score in range(1, 6)} | _counts(conn, p, "survey")


def _local(conn: sqlite3.Connection, p: dict, unit: int, cycle: int = 0) -> list[sqlite3.Row]:
    """Calls, answered and abandoned by local hour (unit 3600) or local day (86400); with `cycle`, the units
    folded modulo it in SQL (24: hour of the day), so a year's hourly chart hands Python 24 rows, not 8,760."""
    offset = float(p["offset"])
    if offset % SLOT_SECONDS:  # not a whole quarter-hour: the slots straddle local hours
        key = f"CAST((started_at + :offset) / {unit} AS INTEGER)"
        sql = (f"SELECT {key}{f' % {cycle}' if cycle else ''} AS k, COUNT(*) AS calls, "
               f"COUNT(connected_at) AS answered, COUNT(CASE WHEN outcome = 'abandoned' THEN 1 END) AS abandoned "
               f"FROM calls INDEXED BY idx_calls_stats WHERE {RANGE} GROUP BY k")
        args = p
    else:
        src, args = _over_time(p, unit)
        sql = (f"SELECT (at + {int(offset)}) / {unit}{f' % {cycle}' if cycle else ''} AS k, SUM(calls) AS calls, "
               f"SUM(answered) AS answered, SUM(abandoned) AS abandoned FROM ({src}) GROUP BY k HAVING SUM(calls) > 0")
    return _rows(conn, sql + " ORDER BY k", args)


def per_hour(conn: sqlite3.Connection, p: dict) -> list[dict]:
    """Calls by hour of the day (local time via utc_offset), all 24 hours present."""
    found = {r["k"]: {"calls": r["calls"], "answered": r["answered"], "abandoned": r["abandoned"]}
             for r in _local(conn, p, 3600, cycle=24)}
    return [{"hour": h, **found.get(h, {"calls": 0, "answered": 0, "abandoned": 0})} for h in range(24)]


def per_day(conn: sqlite3.Connection, p: dict) -> list[dict]:
    return [{"date": time.strftime("%Y-%m-%d", time.gmtime(r["k"] * 86400)), "calls": r["calls"],
             "answered": r["answered"], "abandoned": r["abandoned"]} for r in _local(conn, p, 86400)]


def per_operator(conn: sqlite3.Connection, p: dict) -> list[dict]:
    """Answered calls by operator, most first (then by name; a call without one shows as None)."""
    src, args = _source("stats_day_operators", p)
    rows = _rows(conn, f"""
        SELECT operator, SUM(answered) AS answered, SUM(wait_n) AS wait_n, SUM(wait_ms) AS wait_ms,
               SUM(talk_n) AS talk_n, SUM(talk_ms) AS talk_ms, SUM(surveys) AS surveys,
               SUM(survey_total) AS survey_total
        FROM ({src}) GROUP BY operator HAVING SUM(answered) > 0""", args)
    return [{"operator": r["operator"] or None, "answered": r["answered"], "asa": _mean(r["wait_ms"], r["wait_n"], 2),
             "average_talk": _mean(r["talk_ms"], r["talk_n"], 2),
             "talk_total": float(round(Fraction(r["talk_ms"], 1000), 1)),
             "survey_average": _mean(r["survey_total"], r["surveys"], 2, 1)}
            for r in sorted(rows, key=lambda r: (-r["answered"], r["operator"]))]


def per_handset(conn: sqlite3.Connection, p: dict) -> list[dict]:
    """From the event timeline (by when it happened): how often each handset was connected or rang unanswered."""
    src, args = _source("stats_day_handsets", p)
    rows = _rows(conn, f"""
        SELECT handset, SUM(connected) AS connected, SUM(ring_no_answer) AS ring_no_answer
        FROM ({src}) GROUP BY handset HAVING SUM(connected) + SUM(ring_no_answer) > 0 ORDER BY handset""", args)
    return [{"handset": r["handset"] or None, "connected": r["connected"], "ring_no_answer": r["ring_no_answer"]}
            for r in rows]


def callbacks(conn: sqlite3.Connection, p: dict) -> dict[str, Any]:
    """Callback requests made in the period, those done, and the average delay to done (whole UTC days from
    their rollup, the requests themselves at the edges)."""
    days = p["rollups"] and callback_days.TABLE in p["tables"]
    whole, edges = _split(p["since"], p["until"], DAY_SECONDS) if days else (None, [(p["since"], p["until"])])
    sums = callback_days.report(conn, whole, edges)
    return {"requested": sums["requested"], "done": sums["done"],
            "average_delay": _mean(sums["delay_ms"], sums["delay_n"], 1)}


QUERIES: dict[str, Callable[[sqlite3.Connection, dict], Any]] = {
    "summary": summary, "outcomes": outcomes, "call_types": call_types, "per_hour": per_hour,
    "per_day": per_day, "per_operator": per_operator, "per_handset": per_handset, "surveys": surveys,
    "callbacks": callbacks,
}


def params(since: float, until: float, *, short_abandon: float = 5.0, service_level: float = 20.0,
           utc_offset: float = 0.0, rollups: bool = True) -> dict:
    """The query parameters; rollups=False counts everything on the calls themselves (slow, same figures)."""
    if until <= since:
        raise ValueError(f"the period is empty: until ({until}) is not after since ({since})")
    if short_abandon < 0 or service_level <= 0:
        raise ValueError("short_abandon must be >= 0 and service_level > 0 seconds")
    return {"since": since, "until": until, "short": short_abandon, "sl": service_level, "offset": utc_offset,
            "rollups": rollups, "tables": (*TIME_ROLLUPS, callback_days.TABLE) if rollups else ()}


def dashboard(conn: sqlite3.Connection, since: float, until: float, *, only: tuple[str, ...] | None = None,
              **options: Any) -> dict:
    """Every dashboard figure, or those named in `only` (e.g. ("summary",));
    options: short_abandon, service_level (seconds), utc_offset (for hours and days)."""
    p = params(since, until, **options)
    # A database the daemon has not migrated yet (a restored older log): the rollups it has, or none.
    p["tables"] = tuple(name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                          "AND name LIKE 'stats_%'") if name in p["tables"])
    if "stats_slots" not in p["tables"]:
        p["rollups"], p["tables"] = False, ()
    result: dict[str, Any] = {"since": since, "until": until, "short_abandon": p["short"],
                              "service_level_seconds": p["sl"]}
    for name, query in QUERIES.items():
        if only is None or name in only:
            result[name] = query(conn, p)
    return result


def empty(since: float, until: float) -> dict:
    """The figures for a box that has no database yet."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE TABLE calls (started_at, outcome, queued_at, connected_at, wait_seconds, "
                     "talk_seconds, survey_score, operator, call_type)")
        conn.execute("CREATE INDEX idx_calls_stats ON calls (started_at)")
        conn.execute("CREATE TABLE call_events (at, event, handset)")
        conn.execute("CREATE INDEX idx_events_kind ON call_events (event, at, handset)")
        conn.execute("CREATE TABLE callbacks (requested_at, status, done_at)")
        return dashboard(conn, since, until)
    finally:
        conn.close()
