"""The statistics rollups: what the dashboard adds up instead of scanning calls, and the SQL that keeps them.

The dashboard adds these up for the whole quarter-hours (time series) or UTC days (breakdowns) inside
a period instead of scanning a year of calls. Every real UTC offset is a whole number of quarter-hours,
so local hours and days are unions of slots. Durations are summed as whole milliseconds (integers), so
a figure never depends on the order rows were added; waits are also counted per whole second (ceil for
answered calls, floor for abandoned ones) so service level and short abandons work for any whole-second
threshold chosen when the dashboard is read. Triggers keep them in step inside the writer's own
transaction, whatever changes a call (start, connect, end, call type, interrupted, erasure).

The tables themselves are made by the numbered migrations (migrations.py: 6 and 9), with what is here.
Two forms of the same figures: ROLLUPS, a GROUP BY SELECT over many calls (the backfill, and the calls at a
dashboard period's edges), and _one, plain expressions of one row (the triggers, since migration 18: SQLite
compiles a trigger into every statement that can fire it, and aggregators over a one-row source only cost).
tests/integration/test_rollup_triggers.py keeps them equal.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger(__name__)

SLOT_SECONDS = 900
HOUR_SECONDS = 3600
DAY_SECONDS = 86400
# The rollups over time with every summary figure, finest first (hours and days: migration 9), as
# table -> (key column, seconds per row). A year's summary reads 365 day rows, not 35,040 quarter-hours.
TIME_ROLLUPS = {"stats_slots": ("slot", SLOT_SECONDS), "stats_hours": ("hour", HOUR_SECONDS),
                "stats_days": ("day", DAY_SECONDS)}
TIME_SUMS = ("calls", "offered", "answered", "abandoned", "wait_n", "wait_ms", "talk_n", "talk_ms", "surveys",
             "survey_total")
ROLLUP_STATE = "stats_rollup_state"  # keep_on_delete = 1 while retention deletes raw rows (rollups stay)


def floor_div(expr: str, unit: int) -> str:
    """SQL for floor(expr / unit), exact even where the float division rounds up to the next integer."""
    q = f"CAST(({expr}) / {unit} AS INTEGER)"
    return f"({q} - ({q} * {unit} > ({expr})))"


def _ms(expr: str) -> str:
    return f"CAST(ROUND(({expr}) * 1000) AS INTEGER)"


_CALL_SOURCE = ("started_at", "outcome", "queued_at", "connected_at", "wait_seconds", "talk_seconds",
                "survey_score", "operator", "call_type")
_EVENT_SOURCE = ("at", "event", "handset")
_ANSWERED = "connected_at IS NOT NULL"
_DURATIONS = (f"COUNT(CASE WHEN {_ANSWERED} THEN wait_seconds END) AS wait_n, "
              f"COALESCE(SUM(CASE WHEN {_ANSWERED} THEN {_ms('wait_seconds')} END), 0) AS wait_ms, "
              f"COUNT(CASE WHEN {_ANSWERED} THEN talk_seconds END) AS talk_n, "
              f"COALESCE(SUM(CASE WHEN {_ANSWERED} THEN {_ms('talk_seconds')} END), 0) AS talk_ms")
_DAY = floor_div("started_at", DAY_SECONDS)
# stats_day_counts: (kind, value, which calls count) with `{r}` before each column (a trigger's "NEW.", or none).
_DAY_COUNTS = (
    ("outcome", "COALESCE({r}outcome, 'in progress')", "1"),
    ("call_type", "COALESCE({r}call_type, 'unclassified')", "1"),
    ("survey", "{r}survey_score", "{r}survey_score IS NOT NULL"),
    ("answered_wait", f"-{floor_div('-{r}wait_seconds', 1)}",
     "{r}connected_at IS NOT NULL AND {r}wait_seconds IS NOT NULL"),
    ("abandoned_wait", floor_div("COALESCE({r}wait_seconds, 0)", 1), "{r}outcome = 'abandoned'"),
)


def _over_time(key: str, unit: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]:
    return (_CALL_SOURCE, (key,), TIME_SUMS,
            f"SELECT {floor_div('started_at', unit)} AS {key}, COUNT(*) AS calls, COUNT(queued_at) AS offered, "
            f"COUNT(connected_at) AS answered, COUNT(CASE WHEN outcome = 'abandoned' THEN 1 END) AS abandoned, "
            f"{_DURATIONS}, COUNT(survey_score) AS surveys, COALESCE(SUM(survey_score), 0) AS survey_total, "
            f"MAX(CASE WHEN queued_at IS NOT NULL THEN wait_seconds END) AS longest_wait "
            f"FROM {{src}} GROUP BY 1")


# table -> (source columns, key columns, summed columns, SELECT over `{src}` giving keys then sums)
ROLLUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]] = {
    **{table: _over_time(key, unit) for table, (key, unit) in TIME_ROLLUPS.items()},
    "stats_day_counts": (
        _CALL_SOURCE, ("day", "kind", "value"), ("n",),
        " UNION ALL ".join(
            f"SELECT {_DAY} AS day, '{kind}' AS kind, {value.format(r='')} AS value, COUNT(*) AS n FROM {{src}} "
            f"WHERE {where.format(r='')} GROUP BY 1, 3" for kind, value, where in _DAY_COUNTS)),
    "stats_day_operators": (
        _CALL_SOURCE, ("day", "operator"),
        ("answered", "wait_n", "wait_ms", "talk_n", "talk_ms", "surveys", "survey_total"),
        f"SELECT {_DAY} AS day, COALESCE(operator, '') AS operator, COUNT(*) AS answered, {_DURATIONS}, "
        f"COUNT(survey_score) AS surveys, COALESCE(SUM(survey_score), 0) AS survey_total "
        f"FROM {{src}} WHERE {_ANSWERED} GROUP BY 1, 2"),
    "stats_day_handsets": (
        _EVENT_SOURCE, ("day", "handset"), ("connected", "ring_no_answer"),
        f"SELECT {floor_div('at', DAY_SECONDS)} AS day, COALESCE(handset, '') AS handset, "
        f"COUNT(CASE WHEN event = 'CONNECT' THEN 1 END) AS connected, "
        f"COUNT(CASE WHEN event = 'RINGNOANSWER' THEN 1 END) AS ring_no_answer "
        f"FROM {{src}} WHERE event IN ('CONNECT', 'RINGNOANSWER') GROUP BY 1, 2"),
}


def _fold(table: str, src: str) -> list[str]:
    """The statement adding the rows of `src` into one rollup table (the backfill)."""
    _, keys, sums, select = ROLLUPS[table]
    longest = table in TIME_ROLLUPS
    columns = ", ".join([*keys, *sums, *(["longest_wait"] if longest else [])])
    return [f"INSERT INTO {table} ({columns}) SELECT {columns} FROM ({select.format(src=src)}) WHERE true "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {_added(sums, longest=longest)}"]


def _added(sums: tuple[str, ...], *, longest: bool) -> str:
    """The upsert's SET: each sum added, and the longest wait kept if the new one is not longer."""
    updates = [f"{column} = {column} + excluded.{column}" for column in sums]
    if longest:
        updates.append("longest_wait = CASE WHEN longest_wait IS NULL OR excluded.longest_wait > longest_wait "
                       "THEN excluded.longest_wait ELSE longest_wait END")
    return ", ".join(updates)


def _one(r: str) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """Each rollup's figures of one row (its columns prefixed by `r`: "NEW." or "OLD.") as plain expressions,
    what its ROLLUPS SELECT gives over that row alone: table -> [(condition, {column: expression})], one rollup
    row per condition that holds. The triggers fold with these, not with a GROUP BY over a one-row source: no
    aggregators to compile into every statement that can fire them (the writer caches its statements for life).
    """
    answered = f"{r}connected_at IS NOT NULL"
    durations = {f"{name}_n": f"{answered} AND {r}{name}_seconds IS NOT NULL" for name in ("wait", "talk")} | {
        f"{name}_ms": f"CASE WHEN {answered} THEN COALESCE({_ms(f'{r}{name}_seconds')}, 0) ELSE 0 END"
        for name in ("wait", "talk")}
    surveys = {"surveys": f"{r}survey_score IS NOT NULL", "survey_total": f"COALESCE({r}survey_score, 0)"}
    day = floor_div(f"{r}started_at", DAY_SECONDS)
    figures: dict[str, list[tuple[str, dict[str, str]]]] = {
        table: [("true", {key: floor_div(f"{r}started_at", unit), "calls": "1",
                          "offered": f"{r}queued_at IS NOT NULL", "answered": answered,
                          "abandoned": f"{r}outcome IS 'abandoned'", **durations, **surveys,
                          "longest_wait": f"CASE WHEN {r}queued_at IS NOT NULL THEN {r}wait_seconds END"})]
        for table, (key, unit) in TIME_ROLLUPS.items()}
    figures["stats_day_counts"] = [
        (where.format(r=r), {"day": day, "kind": f"'{kind}'", "value": value.format(r=r), "n": "1"})
        for kind, value, where in _DAY_COUNTS]
    figures["stats_day_operators"] = [
        (answered, {"day": day, "operator": f"COALESCE({r}operator, '')", "answered": "1", **durations, **surveys})]
    figures["stats_day_handsets"] = [
        (f"{r}event IN ('CONNECT', 'RINGNOANSWER')",
         {"day": floor_div(f"{r}at", DAY_SECONDS), "handset": f"COALESCE({r}handset, '')",
          "connected": f"{r}event = 'CONNECT'", "ring_no_answer": f"{r}event = 'RINGNOANSWER'"})]
    return figures


def _fold_row(table: str, row: str, sign: int) -> list[str]:
    """Statements adding (sign 1, the NEW row) or taking away (sign -1, the OLD row) one row in one rollup."""
    _, keys, sums, _ = ROLLUPS[table]
    longest = table in TIME_ROLLUPS and sign > 0  # a maximum is only ever added (below for taking away)
    extra = ["longest_wait"] if longest else []
    statements = []
    for where, terms in _one(f"{row}.")[table]:
        values = [terms[key] for key in keys] + [f"{sign} * ({terms[column]})" for column in sums]
        values += [terms[column] for column in extra]
        statements.append(
            f"INSERT INTO {table} ({', '.join([*keys, *sums, *extra])}) SELECT {', '.join(values)} WHERE {where} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {_added(sums, longest=longest)}")
    if table in TIME_ROLLUPS and sign < 0:
        # A maximum cannot be taken away: when the longest wait leaves its row, look at the row's calls again.
        key, unit = TIME_ROLLUPS[table]
        at = floor_div(f"{row}.started_at", unit)
        statements.append(
            f"UPDATE {table} SET longest_wait = (SELECT MAX(wait_seconds) FROM calls INDEXED BY idx_calls_stats "
            f"WHERE started_at >= {at} * {unit} AND started_at < ({at} + 1) * {unit} "
            f"AND queued_at IS NOT NULL) WHERE {key} = {at} AND {row}.queued_at IS NOT NULL "
            f"AND {row}.wait_seconds >= longest_wait")
    return statements


def _body(tables: tuple[str, ...], columns: tuple[str, ...], *sides: tuple[str, int]) -> str:
    """A trigger body folding the OLD and/or NEW row into each of `tables` fed by these columns."""
    targets = [table for table in tables if ROLLUPS[table][0] == columns]
    return " ".join(f"{statement};" for row, sign in sides for table in targets
                    for statement in _fold_row(table, row, sign))


def _when(*conditions: str) -> str:
    present = [c for c in conditions if c]
    return f" WHEN {' AND '.join(present)}" if present else ""


TRIGGERS = [f"stats_{name}_{when}" for name in ("calls", "events") for when in ("ai", "au", "ad")]


def make_triggers(db: sqlite_utils.Database | sqlite3.Connection, tables: tuple[str, ...]) -> None:
    kept = f"NOT EXISTS (SELECT 1 FROM {ROLLUP_STATE} WHERE keep_on_delete)"
    handset_events = "{row}.event IN ('CONNECT', 'RINGNOANSWER')"
    for table, name, columns, relevant in (("calls", "calls", _CALL_SOURCE, ""),
                                           ("call_events", "events", _EVENT_SOURCE, handset_events)):
        new, old = relevant.format(row="NEW"), relevant.format(row="OLD")
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        db.execute(f"CREATE TRIGGER stats_{name}_ai AFTER INSERT ON {table}{_when(new)} "
                   f"BEGIN {_body(tables, columns, ('NEW', 1))} END")
        db.execute(f"CREATE TRIGGER stats_{name}_au AFTER UPDATE OF {', '.join(columns)} ON {table}"
                   f"{_when(f'({changed})', relevant and f'({old} OR {new})')} "
                   f"BEGIN {_body(tables, columns, ('OLD', -1), ('NEW', 1))} END")
        # Retention sets keep_on_delete around its deletes: the rollups keep the calls as anonymous counts.
        db.execute(f"CREATE TRIGGER stats_{name}_ad AFTER DELETE ON {table}{_when(old, kept)} "
                   f"BEGIN {_body(tables, columns, ('OLD', -1))} END")


def backfill_rollups(db: sqlite_utils.Database | sqlite3.Connection, chunk_days: int = 30,
                     tables: tuple[str, ...] = tuple(ROLLUPS)) -> int:
    """Fold every call and event already stored into the (empty) rollups, a month at a time; returns calls."""
    (first, last, total), = db.execute(
        "SELECT MIN(t), MAX(t), SUM(n) FROM (SELECT MIN(started_at) AS t, COUNT(*) AS n FROM calls UNION ALL "
        "SELECT MAX(started_at), 0 FROM calls UNION ALL SELECT MIN(at), 0 FROM call_events UNION ALL "
        "SELECT MAX(at), 0 FROM call_events)").fetchall()
    if first is None:
        return 0
    sources = {
        _CALL_SOURCE: f"(SELECT {', '.join(_CALL_SOURCE)} FROM calls INDEXED BY idx_calls_stats "
                      "WHERE started_at >= :a AND started_at < :b)",
        _EVENT_SOURCE: "(SELECT at, event, handset FROM call_events INDEXED BY idx_events_kind "
                       "WHERE event IN ('CONNECT', 'RINGNOANSWER') AND at >= :a AND at < :b)",
    }
    step = chunk_days * DAY_SECONDS
    a, done = (first // DAY_SECONDS) * DAY_SECONDS, 0
    while a <= last:
        span = {"a": a, "b": a + step}
        for table in tables:
            for statement in _fold(table, sources[ROLLUPS[table][0]]):
                db.execute(statement, span)
        done += db.execute("SELECT COUNT(*) FROM calls WHERE started_at >= :a AND started_at < :b",
                           span).fetchone()[0]
        log.info("statistics rollups: %d of %d calls folded in (%.0f%%)", done, total, 100 * done / max(total, 1))
        a += step
    return done


def fill_from_quarter_hours(db: sqlite_utils.Database | sqlite3.Connection, table: str) -> None:
    """Fill an empty hour or day rollup by adding up the quarter-hours (migration 9, and a salvaged log).

    From the quarter-hours, not the calls: they still count the calls retention deleted.
    """
    key, unit = TIME_ROLLUPS[table]
    db.execute(f"INSERT INTO {table} SELECT {floor_div(f'slot * {SLOT_SECONDS}', unit)} AS {key}, "
               f"{', '.join(f'SUM({c})' for c in TIME_SUMS)}, MAX(longest_wait) FROM stats_slots GROUP BY 1")
