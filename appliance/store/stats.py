"""Dashboard statistics in SQL, in the terms of Asterisk's queue_log reports.

Every figure is for calls *started* in [since, until). The per-call milestones
(queued, connected, waits, talk time, survey score) come from each call's event
timeline and are folded into the calls row when it is written, so each query
below is one range scan of the covering index `idx_calls_stats`; per-handset
ring-no-answer counts are read from the event table itself (`idx_events_kind`).

* offered: calls that entered the operator queue
* answered: calls connected to an operator
* abandoned: callers who hung up while queued; short abandons (waited less than
  `short_abandon` seconds) are counted apart and left out of the rates
* ASA: average speed of answer (queue wait of the answered calls)
* service level: answered within `service_level` seconds / (offered - short abandons)
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any


def _rows(conn: sqlite3.Connection, sql: str, params: dict) -> list[sqlite3.Row]:
    conn.row_factory = sqlite3.Row
    return conn.execute(sql, params).fetchall()


RANGE = "started_at >= :since AND started_at < :until"


def summary(conn: sqlite3.Connection, p: dict) -> dict[str, Any]:
    (row,) = _rows(conn, f"""
        SELECT COUNT(*) AS calls,
               COUNT(queued_at) AS offered,
               COUNT(connected_at) AS answered,
               TOTAL(outcome = 'abandoned') AS abandoned,
               TOTAL(outcome = 'abandoned' AND COALESCE(wait_seconds, 0) < :short) AS short_abandoned,
               AVG(CASE WHEN connected_at IS NOT NULL THEN wait_seconds END) AS asa,
               TOTAL(connected_at IS NOT NULL AND wait_seconds <= :sl) AS within_service_level,
               AVG(CASE WHEN connected_at IS NOT NULL THEN talk_seconds END) AS average_talk,
               MAX(CASE WHEN queued_at IS NOT NULL THEN wait_seconds END) AS longest_wait,
               AVG(survey_score) AS survey_average, COUNT(survey_score) AS surveys
        FROM calls INDEXED BY idx_calls_stats WHERE {RANGE}""", p)
    out = dict(row)
    for name in ("abandoned", "short_abandoned", "within_service_level"):
        out[name] = int(out[name])
    counted = out["offered"] - out["short_abandoned"]
    out["service_level"] = round(out["within_service_level"] / counted, 4) if counted else None
    out["abandon_rate"] = round((out["abandoned"] - out["short_abandoned"]) / counted, 4) if counted else None
    for name in ("asa", "average_talk", "survey_average"):
        out[name] = round(out[name], 2) if out[name] is not None else None
    return out


def outcomes(conn: sqlite3.Connection, p: dict) -> dict[str, int]:
    rows = _rows(conn, f"SELECT COALESCE(outcome, 'in progress') AS o, COUNT(*) AS n FROM calls "
                       f"INDEXED BY idx_calls_stats WHERE {RANGE} GROUP BY outcome", p)
    return {r["o"]: r["n"] for r in rows}


def call_types(conn: sqlite3.Connection, p: dict) -> dict[str, int]:
    rows = _rows(conn, f"SELECT COALESCE(call_type, 'unclassified') AS t, COUNT(*) AS n FROM calls "
                       f"INDEXED BY idx_calls_stats WHERE {RANGE} GROUP BY call_type", p)
    return {r["t"]: r["n"] for r in rows}


def per_hour(conn: sqlite3.Connection, p: dict) -> list[dict]:
    """Calls by hour of the day (local time via utc_offset), all 24 hours present."""
    rows = _rows(conn, f"""
        SELECT CAST((started_at + :offset) / 3600 AS INTEGER) % 24 AS hour, COUNT(*) AS calls,
               COUNT(connected_at) AS answered, TOTAL(outcome = 'abandoned') AS abandoned
        FROM calls INDEXED BY idx_calls_stats WHERE {RANGE} GROUP BY hour""", p)
    found = {r["hour"]: r for r in rows}
    return [{"hour": h, "calls": found[h]["calls"] if h in found else 0,
             "answered": found[h]["answered"] if h in found else 0,
             "abandoned": int(found[h]["abandoned"]) if h in found else 0} for h in range(24)]


def per_day(conn: sqlite3.Connection, p: dict) -> list[dict]:
    rows = _rows(conn, f"""
        SELECT CAST((started_at + :offset) / 86400 AS INTEGER) AS day, COUNT(*) AS calls,
               COUNT(connected_at) AS answered, TOTAL(outcome = 'abandoned') AS abandoned
        FROM calls INDEXED BY idx_calls_stats WHERE {RANGE} GROUP BY day ORDER BY day""", p)
    return [{"date": time.strftime("%Y-%m-%d", time.gmtime(r["day"] * 86400)), "calls": r["calls"],
             "answered": r["answered"], "abandoned": int(r["abandoned"])} for r in rows]


def per_operator(conn: sqlite3.Connection, p: dict) -> list[dict]:
    rows = _rows(conn, f"""
        SELECT operator, COUNT(*) AS answered, ROUND(AVG(wait_seconds), 2) AS asa,
               ROUND(AVG(talk_seconds), 2) AS average_talk, ROUND(TOTAL(talk_seconds), 1) AS talk_total,
               ROUND(AVG(survey_score), 2) AS survey_average
        FROM calls INDEXED BY idx_calls_stats WHERE {RANGE} AND connected_at IS NOT NULL
        GROUP BY operator ORDER BY answered DESC""", p)
    return [dict(r) for r in rows]


def per_handset(conn: sqlite3.Connection, p: dict) -> list[dict]:
    """Straight from the event timeline: how often each handset was connected or rang unanswered."""
    rows = _rows(conn, """
        SELECT handset, TOTAL(event = 'CONNECT') AS connected, TOTAL(event = 'RINGNOANSWER') AS ring_no_answer
        FROM call_events INDEXED BY idx_events_kind
        WHERE event IN ('CONNECT', 'RINGNOANSWER') AND at >= :since AND at < :until
        GROUP BY handset ORDER BY handset""", p)
    return [{"handset": r["handset"], "connected": int(r["connected"]),
             "ring_no_answer": int(r["ring_no_answer"])} for r in rows]


def surveys(conn: sqlite3.Connection, p: dict) -> dict[str, int]:
    rows = _rows(conn, f"SELECT survey_score AS s, COUNT(*) AS n FROM calls INDEXED BY idx_calls_stats "
                       f"WHERE {RANGE} AND survey_score IS NOT NULL GROUP BY survey_score", p)
    return {str(score): 0 for score in range(1, 6)} | {str(r["s"]): r["n"] for r in rows}


def callbacks(conn: sqlite3.Connection, p: dict) -> dict[str, Any]:
    (row,) = _rows(conn, """
        SELECT COUNT(*) AS requested, TOTAL(status = 'done') AS done,
               AVG(CASE WHEN status = 'done' THEN done_at - requested_at END) AS average_delay
        FROM callbacks WHERE requested_at >= :since AND requested_at < :until""", p)
    return {"requested": row["requested"], "done": int(row["done"]),
            "average_delay": round(row["average_delay"], 1) if row["average_delay"] is not None else None}


QUERIES: dict[str, Callable[[sqlite3.Connection, dict], Any]] = {
    "summary": summary, "outcomes": outcomes, "call_types": call_types, "per_hour": per_hour,
    "per_day": per_day, "per_operator": per_operator, "per_handset": per_handset, "surveys": surveys,
    "callbacks": callbacks,
}


def params(since: float, until: float, *, short_abandon: float = 5.0, service_level: float = 20.0,
           utc_offset: float = 0.0) -> dict:
    if until <= since:
        raise ValueError(f"the period is empty: until ({until}) is not after since ({since})")
    if short_abandon < 0 or service_level <= 0:
        raise ValueError("short_abandon must be >= 0 and service_level > 0 seconds")
    return {"since": since, "until": until, "short": short_abandon, "sl": service_level, "offset": utc_offset}


def dashboard(conn: sqlite3.Connection, since: float, until: float, **options: Any) -> dict:
    """Every dashboard figure; options: short_abandon, service_level (seconds), utc_offset (for hours and days)."""
    p = params(since, until, **options)
    result: dict[str, Any] = {"since": since, "until": until, "short_abandon": p["short"],
                              "service_level_seconds": p["sl"]}
    for name, query in QUERIES.items():
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
