"""The dashboard's figures for today are counted at most once a second, and only the ones it shows."""

from __future__ import annotations

import time

from flask import Flask

from appliance.records.store import stats
from appliance.records.store.calls import CallStore
from web import records


def _call(store: CallStore, call_id: str, started: float) -> None:
    store.call_started(call_id, "gsm1", "+15550001", started)
    store.call_ended({"id": call_id, "line": "gsm1", "caller": "+15550001", "started_at": started,
                      "ended_at": started + 30, "outcome": "abandoned", "ended_by": "caller", "events": []})


def test_twenty_dashboards_in_a_second_count_todays_summary_once(tmp_path, monkeypatch):
    store = CallStore(tmp_path / "calls.db")
    _call(store, "c1", time.time() - 60)
    counted: list[str] = []
    for name, query in list(stats.QUERIES.items()):
        monkeypatch.setitem(stats.QUERIES, name, lambda conn, p, n=name, q=query: counted.append(n) or q(conn, p))
    now = [100.0]
    monkeypatch.setattr(records.time, "monotonic", lambda: now[0])
    app = Flask("t")
    app.config.update(DATABASE=tmp_path / "calls.db", DATA_DIR=tmp_path, CONTROL_PATH=str(tmp_path / "away.sock"))
    try:
        with app.app_context():
            figures = [records.today() for _ in range(20)]
            assert counted == ["summary"] and all(f["total"] == 1 for f in figures)
            _call(store, "c2", time.time() - 30)
            assert records.today()["total"] == 1  # the same second: shown again
            now[0] += 1.0
            assert records.today()["total"] == 2 and counted == ["summary", "summary"]
    finally:
        store.close()
