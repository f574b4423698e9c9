"""The rollup triggers fold each call's one row as the backfill counts the calls: the same rows, to the millisecond."""

from __future__ import annotations

import random
import sqlite3

from appliance.records.store import rollups
from appliance.records.store.calls import CallStore
from appliance.records.store.retention import erase_caller
from tests.integration.test_store_rollup import BASE, DAY, OPERATORS, fill, random_record


def _rollups(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Each rollup's rows but those a take-away left at zero (the backfill makes no row for no calls)."""
    return {table: sorted(conn.execute(f"SELECT * FROM {table} WHERE {' OR '.join(f'{c} != 0' for c in sums)}")
                          .fetchall(), key=repr) for table, (_, _, sums, _) in rollups.ROLLUPS.items()}


def test_the_triggers_fold_every_change_to_a_call_as_the_backfill_counts_the_calls(tmp_path):
    store = CallStore(tmp_path / "calls.db")
    rng = random.Random(23)
    records = fill(store, rng, calls=400, days=12)  # starts, connections, ends, rewrites, call types
    for n in range(400, 430):  # ends whose start never reached the log, some connected first
        rec = random_record(rng, n, BASE + round(rng.uniform(0, 12 * DAY), 3))
        if rng.random() < 0.5:
            store.call_connected(rec["id"], "h2", rng.choice(OPERATORS), rec["started_at"] + 12)
        store.call_ended(rec)
    assert store.close_interrupted() > 10
    erase_caller(store, records[0]["caller"], actor="admin", now=BASE + 13 * DAY)
    conn = store.db.conn
    folded = _rollups(conn)
    (stored,) = conn.execute("SELECT COUNT(*) FROM calls").fetchone()
    assert sum(calls for _, calls, *_ in folded["stats_days"]) == stored > 350
    with conn:
        for table in rollups.ROLLUPS:
            conn.execute(f"DELETE FROM {table}")
        rollups.backfill_rollups(conn)
    assert _rollups(conn) == folded
    store.close()
