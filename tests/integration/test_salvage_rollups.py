"""A damaged call log salvaged at start keeps the figures of the calls retention had already deleted.

The statistics rollups (quarter-hours, hours, days) still count calls whose rows retention deleted; a
salvaged log cannot rebuild those counts from the rows it recovers, so it takes them from the old log.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
from pathlib import Path

from appliance.records.store import stats
from appliance.records.store.call_log import open_call_log
from appliance.records.store.calls import CallStore
from appliance.records.store.retention import enforce_retention
from tests.integration.test_store_rollup import BASE, DAY, HOUR, fill

PAGE = 4096


def _smash_index(db: Path, index: str) -> None:
    """Overwrite an index's root page: the log fails its quick check and is salvaged at the next start."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [index]).fetchone()[0]
    with open(db, "r+b") as file:
        file.seek((page - 1) * PAGE)
        file.write(b"\xa5" * PAGE)


def _figures(db: Path) -> dict[str, dict]:
    """A year's dashboard at UTC+3 (whole local days read from the day rollup) and an hour-edged period."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        year = stats.dashboard(conn, BASE - 3 * HOUR - 100 * DAY, BASE - 3 * HOUR + 265 * DAY, utc_offset=3 * HOUR)
        edged = stats.dashboard(conn, BASE + 2.5 * HOUR, BASE + 8 * DAY + 0.25 * HOUR)
    for figures in (year, edged):
        figures.pop("callbacks")  # callback requests go with their calls (they are not rolled up)
    return {"year": year, "edged": edged}


def test_a_salvaged_version_8_log_keeps_the_figures_of_calls_retention_deleted(tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    store = CallStore(db)
    fill(store, random.Random(19), calls=200, days=10)
    store.close_interrupted()
    assert enforce_retention(store, BASE + 11 * DAY, {"calls": 6})["calls"] > 50  # the first 5 days' calls go
    store.close()
    # The log as a box on schema version 8 left it: quarter-hours and day counts, no hour or day rollups.
    with contextlib.closing(sqlite3.connect(db)) as conn:
        for name, kind in conn.execute("SELECT name, type FROM sqlite_master WHERE type = 'trigger' "
                                       "AND name LIKE 'stats_%'").fetchall():
            conn.execute(f"DROP {kind.upper()} {name}")
        conn.execute("DROP TABLE stats_hours")
        conn.execute("DROP TABLE stats_days")
        conn.execute("DELETE FROM schema_migrations WHERE version >= 9")
        conn.commit()
    before = _figures(db)
    assert before["year"]["summary"]["calls"] > 150  # the deleted calls are still counted
    _smash_index(db, "idx_events_kind")
    alarms: list[str] = []
    store = open_call_log(db, lambda: CallStore(db), lambda kind, text: alarms.append(text), BASE + 11 * DAY)
    store.close()
    assert len(alarms) == 1 and "a fresh log was started" in alarms[0], alarms
    after = _figures(db)
    assert after["year"]["summary"] == before["year"]["summary"]  # the 5 deleted days were lost before
    assert after == before
