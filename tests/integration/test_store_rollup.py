"""The statistics rollups give exactly the figures counted on the calls, whatever happens to the calls.

The oracle below computes every dashboard figure in plain Python from the rows
of `calls` and `call_events`, by the definitions in docs/records.md.
"""

from __future__ import annotations

import importlib
import logging
import math
import random
import sqlite3
import time
from fractions import Fraction

import pytest

from appliance.records.store import rollups, stats
from appliance.records.store.calls import CallStore
from appliance.records.store.retention import enforce_retention, erase_caller
from tests.support.calls import NUMBER, record, write

HOUR, DAY = 3600.0, 86400.0
BASE = 20_000 * DAY  # 2024-10-04, a Friday
OPERATORS = ["Anna", "Boris", "Vera", None]
HANDSETS = ["h1", "h2", "h3", None]


# --- the oracle ----------------------------------------------------------------------------------------


def _ms(seconds: float) -> int:
    """SQLite's ROUND(x * 1000): half away from zero."""
    x = seconds * 1000
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def _mean(values: list, places: int, unit: int = 1000) -> float | None:
    return float(round(Fraction(sum(values), unit * len(values)), places)) if values else None


def oracle(conn: sqlite3.Connection, since: float, until: float, *, short_abandon: float = 5.0,
           service_level: float = 20.0, utc_offset: float = 0.0) -> dict:
    conn.row_factory = sqlite3.Row
    calls = [dict(r) for r in conn.execute("SELECT * FROM calls") if since <= r["started_at"] < until]
    events = [dict(r) for r in conn.execute("SELECT * FROM call_events")
              if since <= r["at"] < until and r["event"] in ("CONNECT", "RINGNOANSWER")]
    callbacks = [dict(r) for r in conn.execute("SELECT * FROM callbacks") if since <= r["requested_at"] < until]
    answered = [c for c in calls if c["connected_at"] is not None]
    queued = [c for c in calls if c["queued_at"] is not None]
    abandoned = [c for c in calls if c["outcome"] == "abandoned"]
    short = sum(1 for c in abandoned if (c["wait_seconds"] or 0) < short_abandon)
    within = sum(1 for c in answered if c["wait_seconds"] is not None and c["wait_seconds"] <= service_level)
    scores = [c["survey_score"] for c in calls if c["survey_score"] is not None]
    waits = [c["wait_seconds"] for c in queued if c["wait_seconds"] is not None]
    counted = len(queued) - short
    summary = {
        "calls": len(calls), "offered": len(queued), "answered": len(answered), "abandoned": len(abandoned),
        "short_abandoned": short,
        "asa": _mean([_ms(c["wait_seconds"]) for c in answered if c["wait_seconds"] is not None], 2),
        "within_service_level": within,
        "average_talk": _mean([_ms(c["talk_seconds"]) for c in answered if c["talk_seconds"] is not None], 2),
        "longest_wait": max(waits) if waits else None, "survey_average": _mean(scores, 2, 1),
        "surveys": len(scores),
        "service_level": round(within / counted, 4) if counted else None,
        "abandon_rate": round((len(abandoned) - short) / counted, 4) if counted else None,
    }

    def count(key) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in calls:
            if key(c) is not None:
                out[str(key(c))] = out.get(str(key(c)), 0) + 1
        return out

    def local(unit: float) -> dict[int, dict]:
        out: dict[int, dict] = {}
        for c in calls:
            figures = out.setdefault(math.floor((c["started_at"] + utc_offset) / unit),
                                     {"calls": 0, "answered": 0, "abandoned": 0})
            figures["calls"] += 1
            figures["answered"] += c["connected_at"] is not None
            figures["abandoned"] += c["outcome"] == "abandoned"
        return out

    hours: dict[int, dict] = {}
    for k, figures in local(HOUR).items():
        hour = hours.setdefault(k % 24, {"calls": 0, "answered": 0, "abandoned": 0})
        for name in hour:
            hour[name] += figures[name]
    operators = []
    for name in {c["operator"] or "" for c in answered}:
        mine = [c for c in answered if (c["operator"] or "") == name]
        operators.append({
            "operator": name or None, "answered": len(mine),
            "asa": _mean([_ms(c["wait_seconds"]) for c in mine if c["wait_seconds"] is not None], 2),
            "average_talk": _mean([_ms(c["talk_seconds"]) for c in mine if c["talk_seconds"] is not None], 2),
            "talk_total": float(round(Fraction(sum(_ms(c["talk_seconds"]) for c in mine
                                                   if c["talk_seconds"] is not None), 1000), 1)),
            "survey_average": _mean([c["survey_score"] for c in mine if c["survey_score"] is not None], 2, 1)})
    handsets = {}
    for e in events:
        h = handsets.setdefault(e["handset"] or "", {"handset": e["handset"], "connected": 0, "ring_no_answer": 0})
        h["connected" if e["event"] == "CONNECT" else "ring_no_answer"] += 1
    done = [c for c in callbacks if c["status"] == "done"]
    return {
        "since": since, "until": until, "short_abandon": short_abandon, "service_level_seconds": service_level,
        "summary": summary,
        "outcomes": count(lambda c: c["outcome"] or "in progress"),
        "call_types": count(lambda c: c["call_type"] or "unclassified"),
        "per_hour": [{"hour": h, **hours.get(h, {"calls": 0, "answered": 0, "abandoned": 0})} for h in range(24)],
        "per_day": [{"date": time.strftime("%Y-%m-%d", time.gmtime(day * DAY)), **figures}
                    for day, figures in sorted(local(DAY).items())],
        "per_operator": sorted(operators, key=lambda o: (-o["answered"], o["operator"] or "")),
        "per_handset": [handsets[k] for k in sorted(handsets)],
        "surveys": {str(s): 0 for s in range(1, 6)} | count(lambda c: c["survey_score"]),
        "callbacks": {"requested": len(callbacks), "done": len(done),
                      "average_delay": round(sum(c["done_at"] - c["requested_at"] for c in done) / len(done), 1)
                      if done else None},
    }


# --- generated calls ------------------------------------------------------------------------------------


def random_record(rng: random.Random, n: int, start: float) -> dict:
    """A call of any shape the core writes: menu only, answered, abandoned, with or without survey and handset."""
    shape = rng.random()
    if shape < 0.1:
        return {"id": f"c{n}", "line": "gsm1", "caller": f"+7916{rng.randrange(50):07d}", "started_at": start,
                "ended_at": start + rng.uniform(5, 60), "outcome": "left in menu",
                "events": [{"at": start + 1, "event": "ANSWERED"}]}
    # Whole seconds, tenths and milliseconds: thresholds and rounding meet every kind of wait.
    wait = rng.choice([float(rng.randint(0, 40)), round(rng.uniform(0, 45), 1), round(rng.expovariate(1 / 15), 3)])
    answered = shape < 0.75
    rec = record(f"c{n}", start, caller=f"+7916{rng.randrange(50):07d}", wait=wait, answered=answered,
                 talk=round(rng.uniform(1, 400), rng.choice([0, 1, 3])),
                 survey=rng.choice([None, None, 1, 2, 3, 4, 5]) if answered else None, callback=rng.random() < 0.1)
    if answered:
        rec["operator"] = rng.choice(OPERATORS)
        handset = rng.choice(HANDSETS)
        for event in rec["events"]:
            if event["event"] in ("CONNECT", "COMPLETECALLER"):
                event["handset"] = handset
    return rec


def fill(store: CallStore, rng: random.Random, calls: int = 300, days: int = 12) -> list[dict]:
    """Calls spread over some days, written as the daemon writes them, with what operators do afterwards."""
    records = []
    for n in range(calls):
        start = BASE + round(rng.uniform(0, days * DAY), 3)
        if rng.random() < 0.05:
            start = BASE + rng.randrange(days * 96) * 900.0  # exactly on a quarter-hour
        rec = random_record(rng, n, start)
        records.append(rec)
        fate = rng.random()
        if fate < 0.05:
            store.call_started(rec["id"], rec["line"], rec["caller"], start)  # still ringing
        elif fate < 0.08:
            store.call_started(rec["id"], rec["line"], rec["caller"], start)
            store.call_connected(rec["id"], "h2", rng.choice(OPERATORS), start + 20)  # still talking
        else:
            write(store, rec)
            if rng.random() < 0.05:  # the core writes the same call again, changed
                store.call_ended(random_record(rng, n, start + rng.choice([0.0, 3600.0])))
        if rng.random() < 0.2:
            store.set_call_type(rec["id"], rng.choice(["data", "silent", "test"]))
    return records


def random_period(rng: random.Random, days: int = 12) -> tuple[float, float, dict]:
    kind = rng.random()
    offset = rng.choice([0, 3, -5, 5.5, 5.75, 12, -9.5]) * HOUR
    if kind < 0.4:  # local days, as the dashboard asks
        first = rng.randint(-1, days)
        since = BASE + first * DAY - offset
        until = since + rng.randint(1, days) * DAY
    elif kind < 0.7:  # any instant
        since = BASE + rng.uniform(-DAY, days * DAY)
        until = since + rng.uniform(1, days * DAY)
    else:  # quarter-hours
        since = BASE + rng.randint(-10, days * 96) * 900.0
        until = since + rng.randint(1, days * 96) * 900.0
    thresholds = {"short_abandon": rng.choice([0, 3, 5, 10, 2.5]), "service_level": rng.choice([1, 10, 20, 30, 12.7])}
    return since, until, {**thresholds, "utc_offset": offset}


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    path = tmp_path_factory.mktemp("rollup") / "calls.db"
    store = CallStore(path)
    fill(store, random.Random(7))
    store.close()
    return path


def test_figures_from_rollups_equal_figures_counted_on_the_calls(box):
    rng = random.Random(11)
    conn = sqlite3.connect(f"file:{box}?mode=ro", uri=True)
    for _ in range(150):
        since, until, options = random_period(rng)
        expected = oracle(conn, since, until, **options)
        assert stats.dashboard(conn, since, until, **options) == expected, (since, until, options)
        assert stats.dashboard(conn, since, until, rollups=False, **options) == expected
    conn.close()


def test_the_whole_box_and_a_single_quarter_hour(box):
    conn = sqlite3.connect(f"file:{box}?mode=ro", uri=True)
    for since, until in ((BASE - DAY, BASE + 20 * DAY), (BASE + 900 * 7, BASE + 900 * 8)):
        assert stats.dashboard(conn, since, until, utc_offset=3 * HOUR) == oracle(conn, since, until,
                                                                                  utc_offset=3 * HOUR)
    busy = stats.dashboard(conn, BASE, BASE + 12 * DAY)["summary"]
    assert busy["calls"] == 300 and busy["answered"] > 150 and busy["surveys"] > 20  # the test means something
    conn.close()


def test_rollups_follow_a_call_through_start_connect_end_type_and_interruption(tmp_path):
    store = CallStore(tmp_path / "calls.db")
    conn = sqlite3.connect(tmp_path / "calls.db")
    period = (BASE, BASE + DAY)

    def figures() -> dict:
        return stats.dashboard(conn, *period)

    store.call_started("c1", "gsm1", NUMBER, BASE + 10 * HOUR)
    assert figures()["outcomes"] == {"in progress": 1} == oracle(conn, *period)["outcomes"]
    store.call_connected("c1", "h2", "Boris", BASE + 10 * HOUR + 30)
    assert figures()["per_operator"][0]["operator"] == "Boris" and figures() == oracle(conn, *period)
    store.call_ended(record("c1", BASE + 10 * HOUR, wait=12.0, survey=4))
    store.set_call_type("c1", "abusive")
    store.call_started("c2", "gsm1", NUMBER, BASE + 11 * HOUR)
    assert store.close_interrupted() == 1
    now = figures()
    assert now["outcomes"] == {"completed": 1, "interrupted": 1} and now["call_types"]["abusive"] == 1
    assert now["summary"]["asa"] == 12.0 and now["summary"]["longest_wait"] == 12.0
    assert now == oracle(conn, *period)
    store.call_ended(record("c1", BASE + 10 * HOUR, wait=3.0))  # rewritten: the longest wait goes back to 3 s
    assert figures()["summary"]["longest_wait"] == 3.0 and figures() == oracle(conn, *period)
    conn.close()
    store.close()


def test_a_call_whose_start_never_reached_the_log_is_kept_whole_and_counted_once(tmp_path):
    """Its start lost (the disk full past the journal's bound) or the record made elsewhere: the end writes it all."""
    store = CallStore(tmp_path / "calls.db")
    conn = sqlite3.connect(tmp_path / "calls.db")
    period = (BASE, BASE + DAY)
    store.call_connected("c1", "h2", "Boris", BASE + 12)  # no row to show it on
    store.call_ended(record("c1", BASE, wait=8.0, survey=4))
    rows = conn.execute("SELECT outcome, operator, caller_key, survey_score FROM calls").fetchall()
    assert rows == [("completed", "Boris", store.privacy.key(NUMBER), 4)]
    figures = stats.dashboard(conn, *period)
    assert (figures["summary"]["calls"], figures["summary"]["answered"]) == (1, 1) and figures == oracle(conn, *period)
    conn.close()
    store.close()


def test_a_call_still_costs_two_commits_with_its_rollups(tmp_path):
    store = CallStore(tmp_path / "calls.db")
    commits = []
    store.db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
    store.call_started("c1", "gsm1", NUMBER, BASE)
    store.call_ended(record("c1", BASE, survey=5))
    store.db.conn.set_trace_callback(None)
    assert len(commits) == 2
    assert store.db.execute("SELECT calls, answered, surveys FROM stats_slots").fetchall() == [(1, 1, 1)]
    store.close()


def test_retention_keeps_the_figures_of_deleted_calls_and_erasure_takes_them_away(tmp_path):
    path = tmp_path / "calls.db"
    store = CallStore(path)
    records = fill(store, random.Random(3), calls=200, days=10)
    conn = sqlite3.connect(path)
    old_days, recent = (BASE, BASE + 5 * DAY), (BASE + 6 * DAY, BASE + 10 * DAY)
    before_old, before_all = stats.dashboard(conn, *old_days), stats.dashboard(conn, BASE, BASE + 10 * DAY)
    store.close_interrupted()  # retention only takes finished calls
    kept_old = stats.dashboard(conn, *old_days)
    removed = enforce_retention(store, BASE + 11 * DAY, {"calls": 6})  # everything before BASE + 5 days goes
    assert removed["calls"] > 50
    assert conn.execute("SELECT COUNT(*) FROM calls WHERE started_at < ?", [BASE + 5 * DAY]).fetchone()[0] == 0
    after = stats.dashboard(conn, *old_days)
    # Year-on-year figures survive the raw rows; callback requests go with their calls (they are not rolled up).
    assert after.pop("callbacks")["requested"] == 0 and kept_old.pop("callbacks")["requested"] > 0
    assert after == kept_old
    assert kept_old["summary"]["calls"] == before_old["summary"]["calls"] > 50
    assert stats.dashboard(conn, *recent) == oracle(conn, *recent)  # and newer figures are untouched
    assert before_all["summary"]["calls"] == 200
    # A caller who asks to be forgotten leaves no trace, not even in the counts of recent days.
    caller = next(r["caller"] for r in records if r["started_at"] >= recent[0])
    theirs = conn.execute("SELECT COUNT(*) FROM calls WHERE caller = ? AND started_at >= ?",
                          [caller, recent[0]]).fetchone()[0]
    before = stats.dashboard(conn, *recent)["summary"]["calls"]
    erase_caller(store, caller, actor="admin", now=BASE + 11 * DAY)
    assert stats.dashboard(conn, *recent) == oracle(conn, *recent)
    assert stats.dashboard(conn, *recent)["summary"]["calls"] == before - theirs and theirs > 0
    conn.close()
    store.close()


def test_the_migration_backfills_an_existing_box_with_the_same_figures(tmp_path, caplog):
    path = tmp_path / "calls.db"
    store = CallStore(path)
    fill(store, random.Random(5), calls=150, days=40)
    conn = sqlite3.connect(path)
    figures = stats.dashboard(conn, BASE - 3 * HOUR, BASE + 40 * DAY - 3 * HOUR, utc_offset=3 * HOUR)
    # Back to a version 5 box with these calls: no rollup tables, no triggers.
    for name, kind in conn.execute("SELECT name, type FROM sqlite_master WHERE name LIKE 'stats%'").fetchall():
        conn.execute(f"DROP {kind.upper()} IF EXISTS {name}")
    conn.execute("DELETE FROM schema_migrations WHERE version >= 6")
    for table, column in (("calls", "last_alive"), ("calls", "progress"), ("voicemails", "cut_short"),
                          ("recordings", "cut_short")):  # what migration 7 adds, added again on the way up
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.commit()
    store.close()
    assert stats.dashboard(conn, BASE - 3 * HOUR, BASE + 40 * DAY - 3 * HOUR, utc_offset=3 * HOUR) == figures
    # In this process, where caplog hears them: a process without sqlite-utils loaded yet (the daemon) migrates
    # in a forked child, whose progress lines go to the inherited handlers (the journal), not to this test's.
    importlib.import_module("sqlite_utils")
    with caplog.at_level(logging.INFO, logger=rollups.__name__):
        CallStore(path).close()
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("statistics rollups")]
    assert len(progress) == 2 and progress[-1].startswith("statistics rollups: 150 of 150 calls")
    assert conn.execute("SELECT SUM(calls) FROM stats_slots").fetchone()[0] == 150
    assert stats.dashboard(conn, BASE - 3 * HOUR, BASE + 40 * DAY - 3 * HOUR, utc_offset=3 * HOUR) == figures
    conn.close()


class Fetched(sqlite3.Connection):
    """A connection counting the result rows handed to Python."""

    fetched = 0

    def execute(self, sql: str, parameters: object = (), /) -> sqlite3.Cursor:
        cursor = super().execute(sql, parameters)  # type: ignore[arg-type]
        rows = cursor.fetchall()
        self.fetched += len(rows)
        return _Rows(rows)


class _Rows(list):
    def fetchall(self) -> list:
        return list(self)


def test_a_years_report_reads_days_and_hours_not_every_quarter_hour_nor_every_wait(tmp_path):
    """The 365-day report on a busy box is the slowest page (113 ms on 5M calls here, ten times that on a Pi
    Zero): no figure of it may read a row per quarter-hour of the year, nor one per day and wait second.
    Its cost is counted in SQLite VM steps, which a loaded machine cannot blur as it blurs milliseconds."""
    store = CallStore(tmp_path / "calls.db")
    year = 365 * 96
    with store.db.conn:  # a call in every quarter-hour of a year, waits of 0-96 s: as written, through the triggers
        store.db.conn.execute("""
            WITH RECURSIVE q(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM q WHERE n < :year - 1)
            INSERT INTO calls (id, line, started_at, ended_at, outcome, queued_at, connected_at, wait_seconds,
                               talk_seconds, operator, survey_score)
            SELECT 'c' || n, 'gsm1', :base + n * 900 + 7, :base + n * 900 + 300,
                   CASE WHEN n % 4 THEN 'completed' ELSE 'abandoned' END, :base + n * 900 + 20,
                   CASE WHEN n % 4 THEN :base + n * 900 + 20 + n * 7 % 97 END, n * 7 % 97,
                   CASE WHEN n % 4 THEN 120 END, CASE WHEN n % 4 THEN 'Anna' END, CASE WHEN n % 3 = 0 THEN 4 END
            FROM q""", {"year": year, "base": BASE})
    conn = sqlite3.connect(tmp_path / "calls.db", factory=Fetched)
    steps = [0]
    conn.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1) or 0, 100)
    # the dashboard's year: local days at UTC+3, so part-days at both edges
    p = stats.params(BASE + DAY - 3 * HOUR, BASE + 366 * DAY - 3 * HOUR, utc_offset=3 * HOUR)
    cost, fetched = {}, {}
    for name, query in stats.QUERIES.items():
        steps[0] = conn.fetched = 0
        query(conn, p)
        cost[name], fetched[name] = steps[0] * 100, conn.fetched
    # Before migration 9: the summary 1.46M steps (35,040 quarter-hours, and every day's every wait second),
    # the hourly and daily charts 1.07M and 0.92M. Now the summary reads 365 days, the charts 8,760 hours.
    assert cost["summary"] < 100_000 and max(cost.values()) < 500_000, cost
    # Rows Python turns into objects cost more than SQLite's steps: the hourly chart got its 8,760 hours and
    # folded them into 24 itself (11 of its 21 ms on 5M calls); SQLite folds them now. The daily chart needs
    # its 365 rows.
    assert fetched["per_hour"] <= 24 and fetched["per_day"] <= 366, fetched
    figures = stats.dashboard(conn, p["since"], p["until"], utc_offset=3 * HOUR)
    assert figures["summary"]["calls"] == year - 84  # from 21:00 UTC of the first day
    conn.close()
    store.close()
