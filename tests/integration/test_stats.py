"""Dashboard figures from hand-made calls whose answers are known."""

from __future__ import annotations

import re
import sqlite3

import pytest

from appliance.records.store import stats
from appliance.records.store.calls import CallStore
from appliance.records.store.queries import CallLog
from tests.support.calls import record, write

HOUR = 3600.0
DAY = 86400.0


@pytest.fixture
def log(tmp_path):
    store = CallStore(tmp_path / "calls.db")
    base = 10 * DAY
    answered = [(2, 60, 5, "Anna"), (5, 120, 4, "Anna"), (10, 30, None, "Boris"),
                (15, 90, 2, "Boris"), (25, 200, None, "Boris"), (40, 100, 5, "Anna")]
    for n, (wait, talk, survey, operator) in enumerate(answered):
        rec = record(f"a{n}", base + 9 * HOUR + n * 60, wait=wait, talk=talk, survey=survey)
        rec["operator"] = operator
        write(store, rec)
    for n, wait in enumerate([1, 30, 60]):  # the first is a short abandon
        write(store, record(f"x{n}", base + 14 * HOUR + n * 60, answered=False, wait=wait, callback=n == 2))
    menu = {"id": "m0", "line": "gsm1", "caller": "+79990000000", "started_at": base + DAY + 60,
            "ended_at": base + DAY + 90, "outcome": "left in menu",
            "events": [{"at": base + DAY + 61, "event": "ANSWERED"}]}
    write(store, menu)
    callback_id = store.db.execute("SELECT id FROM callbacks").fetchone()[0]
    store.callback_done(callback_id, "Anna", now=base + 15 * HOUR)
    store.set_call_type("m0", "silent")
    store.close()
    return CallLog(tmp_path / "calls.db"), base


def test_queue_figures_follow_the_asterisk_definitions(log):
    calls, base = log
    figures = calls.stats(base, base + 2 * DAY, short_abandon=5, service_level=20)["summary"]
    assert figures["calls"] == 10 and figures["offered"] == 9 and figures["answered"] == 6
    assert figures["abandoned"] == 3 and figures["short_abandoned"] == 1
    assert figures["asa"] == pytest.approx((2 + 5 + 10 + 15 + 25 + 40) / 6, abs=0.01)
    assert figures["service_level"] == pytest.approx(4 / 8)  # answered within 20 s / (offered - short abandons)
    assert figures["abandon_rate"] == pytest.approx(2 / 8)
    assert figures["average_talk"] == pytest.approx((60 + 120 + 30 + 90 + 200 + 100) / 6, abs=0.01)
    assert figures["longest_wait"] == 60
    assert figures["survey_average"] == pytest.approx(4.0) and figures["surveys"] == 4


def test_thresholds_change_the_figures(log):
    calls, base = log
    strict = calls.stats(base, base + 2 * DAY, short_abandon=0, service_level=5)["summary"]
    assert strict["short_abandoned"] == 0 and strict["service_level"] == pytest.approx(2 / 9, abs=1e-4)


def test_breakdowns_by_hour_day_operator_handset_survey_and_callback(log):
    calls, base = log
    figures = calls.stats(base, base + 2 * DAY, utc_offset=3 * HOUR)
    by_hour = {h["hour"]: h for h in figures["per_hour"]}
    assert len(figures["per_hour"]) == 24
    assert by_hour[12]["calls"] == 6 and by_hour[12]["answered"] == 6  # 09:00 UTC is 12:00 at UTC+3
    assert by_hour[17]["abandoned"] == 3 and by_hour[3]["calls"] == 1
    assert [(d["date"], d["calls"]) for d in figures["per_day"]] == [("1970-01-11", 9), ("1970-01-12", 1)]
    operators = {o["operator"]: o for o in figures["per_operator"]}
    assert operators["Anna"]["answered"] == 3 and operators["Boris"]["talk_total"] == 320
    assert operators["Anna"]["survey_average"] == pytest.approx(14 / 3, abs=0.01)
    handsets = {h["handset"]: h for h in figures["per_handset"]}
    # h1 rang out on every call that waited more than 5 s: 4 answered by h2, 2 abandoned.
    assert handsets["h1"]["ring_no_answer"] == 6 and handsets["h2"]["connected"] == 6
    assert figures["surveys"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2}
    assert figures["callbacks"] == {"requested": 1, "done": 1, "average_delay": pytest.approx(HOUR - 120 - 64, abs=2)}
    assert figures["outcomes"] == {"completed": 6, "abandoned": 3, "left in menu": 1}
    assert figures["call_types"] == {"unclassified": 9, "silent": 1}


def test_the_period_bounds_are_half_open(log):
    calls, base = log
    assert calls.stats(base, base + DAY)["summary"]["calls"] == 9
    assert calls.stats(base + DAY + 60, base + DAY + 61)["summary"]["calls"] == 1
    with pytest.raises(ValueError, match="the period is empty"):
        calls.stats(base, base)


def test_an_empty_box_has_empty_figures(tmp_path):
    figures = CallLog(tmp_path / "calls.db").stats(0, DAY)
    assert figures["summary"]["calls"] == 0 and figures["summary"]["service_level"] is None
    assert figures["per_day"] == [] and figures["callbacks"]["requested"] == 0


def test_every_dashboard_query_reads_only_rollup_keys_and_indexes(log):
    """A year of calls must not mean a year of table scans: each table is searched by key or covering index."""
    calls, base = log
    conn = sqlite3.connect(calls.path)
    # Part-days at both edges (from the calls) around a whole day (from the rollups).
    p = stats.params(base + 5 * HOUR + 7, base + 2 * DAY + 5 * HOUR + 7, short_abandon=3, service_level=10,
                     utc_offset=-4.5 * HOUR)
    for name, query in stats.QUERIES.items():
        if name == "callbacks":
            continue  # a small table with its own index on requested_at
        statements = []
        conn.set_trace_callback(statements.append)
        query(conn, p)
        conn.set_trace_callback(None)
        tables = set()
        for statement in statements:
            for row in conn.execute("EXPLAIN QUERY PLAN " + statement, {**p, **_names(statement)}):
                words = row[3].split()
                # a table, not a subquery, a constant or the wait seconds counted up to a threshold (a CTE)
                if words[0] in ("SCAN", "SEARCH") and not words[1].startswith("(") and words[1] not in (
                        "CONSTANT", "seconds"):
                    tables.add(words[1])
                    assert words[0] == "SEARCH" and ("COVERING INDEX" in row[3] or "PRIMARY KEY" in row[3]), (
                        name, row[3])
        assert tables & {"calls", "call_events"} and tables & {t for t in tables if t.startswith("stats_")}, (
            name, tables)
    conn.close()


def _names(statement: str) -> dict:
    """Traced statements carry their values inline already; named parameters left in them get a dummy."""
    return {name: 0 for name in re.findall(r":(\w+)", statement)}
