"""The soak's look at a call without one complete record: what calls.db holds of it and of its line's neighbours.

A lost record once showed up in a soak as a bare count ("1 call"), with nothing to tell which call went wrong
or how; the look-up is what the next failing run prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

from appliance.records.store.calls import CallStore
from tests.support.calls import record, write

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import soak  # noqa: E402


def test_a_lost_call_is_shown_with_its_records_timelines_and_its_lines_neighbours(tmp_path):
    store = CallStore(tmp_path / "calls.db")
    try:
        write(store, record("mine", 1000.0, caller="+79000000007", answered=False))
        write(store, record("neighbour", 1004.0, caller="+79000000008"))
        write(store, record("no number", 1006.0, caller=None))  # the form a lost number would take
        write(store, record("later", 1100.0, caller="+79000000009"))
        store.call_started("open", "gsm1", "+79000000010", 990.0)  # never ended
    finally:
        store.close()
    (mine, absent) = soak.lost_calls(tmp_path / "calls.db", [("+79000000007", "gsm1", 1000.0),
                                                             ("+79000000011", "gsm1", 1005.0)])
    (record_,) = mine["records"]
    assert (record_["id"], record_["outcome"]) == ("mine", "abandoned")
    assert [e[1] for e in record_["events"]] == ["ANSWERED", "KEY", "ENTERQUEUE", "RINGNOANSWER", "ABANDON"]
    assert [(r["id"], r["caller"]) for r in mine["near"]] == [
        ("open", "+79000000010"), ("neighbour", "+79000000008"), ("no number", None)]
    assert mine["near"][0]["ended_at"] is None  # the open record shows as such
    assert absent["records"] == [] and [r["id"] for r in absent["near"]] == ["mine", "neighbour", "no number"]
