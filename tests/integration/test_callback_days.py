"""The callbacks report reads whole days from its rollup and gives the figures counted on the requests.

Its cost is counted in SQLite VM steps, which a loaded machine cannot blur as it blurs milliseconds.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
from fractions import Fraction
from pathlib import Path

from appliance.records.store import stats
from appliance.records.store.calls import CallStore
from appliance.records.store.retention import enforce_retention, erase_caller

DAY, HOUR = 86400.0, 3600.0
BASE = 20_000 * DAY


def counted(conn: sqlite3.Connection, since: float, until: float) -> dict:
    """The report by its definition, from every request in [since, until)."""
    rows = [r for r in conn.execute("SELECT requested_at, status, done_at FROM callbacks") if since <= r[0] < until]
    delays = [round((done - at) * 1000) for at, status, done in rows if status == "done" and done is not None]
    return {"requested": len(rows), "done": sum(1 for _, status, _ in rows if status == "done"),
            "average_delay": float(round(Fraction(sum(delays), 1000 * len(delays)), 1)) if delays else None}


def _requests(store: CallStore, rng: random.Random, days: int, every: float) -> list[str]:
    """Calls and their requests as the box writes them, a fifth still pending, the rest settled later."""
    ids, at = [], BASE + rng.uniform(0, every)
    while at < BASE + days * DAY:
        call, request = f"c{len(ids)}", f"cb{len(ids)}"
        caller = f"+7916{rng.randrange(40):07d}"
        store.call_ended({"id": call, "line": "gsm1", "caller": caller, "started_at": at - 60, "ended_at": at,
                          "outcome": "no answer"})
        store.callback_update(request, call, caller, "waiting", 0, None, at=at)
        fate = rng.random()
        if fate > 0.2:
            state = "done" if fate > 0.35 else "gave up"
            store.callback_update(request, call, caller, state, 2, None, at=at + rng.uniform(60, 9000))
        ids.append(request)
        at += rng.uniform(0.2, 1.8) * every
    return ids


def test_a_years_callbacks_report_reads_days_not_every_request(tmp_path: Path) -> None:
    store = CallStore(tmp_path / "calls.db")
    with store.db.conn:  # a request every quarter-hour of a year: 35,040
        store.db.conn.execute("""
            WITH RECURSIVE q(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM q WHERE n < 365 * 96 - 1)
            INSERT INTO callbacks (call_id, requested_at, status, done_at)
            SELECT 'c' || n, :base + n * 900 + 7, CASE WHEN n % 4 THEN 'done' ELSE 'pending' END,
                   CASE WHEN n % 4 THEN :base + n * 900 + 7 + n % 3600 END FROM q""", {"base": BASE})
    store.close()
    conn = sqlite3.connect(tmp_path / "calls.db")
    steps = [0]
    conn.set_progress_handler(lambda: steps.__setitem__(0, steps[0] + 1) or 0, 100)
    p = stats.params(BASE + DAY - 3 * HOUR, BASE + 366 * DAY - 3 * HOUR, utc_offset=3 * HOUR)
    figures = stats.callbacks(conn, p)
    # Before the rollup it read every request of the year through its covering index: 0.52M steps; now 7,400.
    assert steps[0] * 100 < 20_000, steps[0] * 100
    conn.set_progress_handler(None, 0)
    assert figures == counted(conn, p["since"], p["until"]) and figures["requested"] == 365 * 96 - 84
    conn.close()


def test_the_report_follows_requests_settled_deleted_by_retention_and_erased(tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    store = CallStore(db)
    rng = random.Random(5)
    _requests(store, rng, days=20, every=2 * HOUR)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def check() -> None:
        for since, until in [(BASE - DAY, BASE + 30 * DAY), (BASE + 0.5 * DAY, BASE + 12.25 * DAY),
                             (BASE + 3 * DAY - 5.5 * HOUR, BASE + 9 * DAY - 5.5 * HOUR),
                             (BASE + 2 * HOUR, BASE + 3 * HOUR)]:
            assert stats.dashboard(conn, since, until, only=("callbacks",))["callbacks"] == counted(conn, since, until)

    check()
    with contextlib.closing(sqlite3.connect(db)) as writer, writer:  # an admin's direct fix of one request
        writer.execute("UPDATE callbacks SET requested_at = requested_at + 3 * ? WHERE id = 3", [DAY])
    check()
    assert enforce_retention(store, BASE + 16 * DAY, {"calls": 10})["calls"] > 0  # requests go with their calls
    check()
    assert counted(conn, BASE - DAY, BASE + 5 * DAY)["requested"] == 0
    caller = "+79160000007"
    before = counted(conn, BASE, BASE + 30 * DAY)["requested"]
    erase_caller(store, caller, actor="admin", now=BASE + 21 * DAY)
    check()
    assert counted(conn, BASE, BASE + 30 * DAY)["requested"] < before
    conn.close()
    store.close()
