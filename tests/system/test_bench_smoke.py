"""Every bench section runs in its quick mode and yields figures, so the bench code cannot rot."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import run  # noqa: E402


@pytest.mark.slow
def test_every_section_gives_figures_and_the_table_prints():
    rows = run.collect(list(run.SECTIONS), quick=True)
    assert [r for r in rows if r.value is None] == []
    names = {r.figure.split(":")[0].split(",")[0] for r in rows}
    expected = {"answer latency", "DTMF cases decoded right", "DTMF held-out keys", "DTMF talk-off", "hand-off", "soak",
                "faults", "footprint"}
    assert expected <= names, names
    judged = {r.figure: r.verdict for r in rows if r.figure.startswith("faults") and r.target is not None}
    assert set(judged.values()) == {"ok"}, judged  # correctness, not speed: no record lost, restarts idle, lines back
    text = run.table(rows)
    assert text.splitlines()[0].split()[:3] == ["figure", "value", "unit"]
    assert len(text.splitlines()) == len(rows) + 2


def clean_faults_run(**changes: object) -> dict:
    """What bench/faults.py's run() returns for a run where nothing went wrong, with `changes`."""
    figures = {"calls": 600, "seconds": 400.0, "kills": 20, "faults": {"hung": 10}, "bad_records": 0,
               "bad_examples": [], "integrity": "ok", "unclean_restarts": 0, "lines_down_at_end": 0,
               "cut_interrupted": 20, "cut_by_kill": 25, "refused_starts": 0, "refused_examples": [],
               "restart_ready_median": 1.0, "refused_storage": 0, "disk_full_skipped": None, "disk_full_spells": 10,
               "changed_by_clock_step": 0, "clock_steps": 5, "bad_state_starts": 7, "refused_bad_state": 0,
               "bad_state_examples": [], "unclear_start_state": 0, "unclear_start_examples": [], "second_instances": 2,
               "second_instance_started": 0, "second_examples": [], "first_disturbed": 0}
    return figures | changes


@pytest.mark.parametrize("fault", [
    {"bad_records": 1, "bad_examples": [("+79110000003", "gsm2", "queue", True, 0, 0)]},
    {"second_instance_started": 1, "second_examples": ["the same data directory"]},
    {"first_disturbed": 1},
    {"refused_bad_state": 1, "bad_state_examples": ["calls.db not a database: Traceback"]},
    {"unclear_start_state": 1, "unclear_start_examples": ["config garbage: started without the alarm config"]},
])
def test_a_start_fault_is_a_missed_row_of_the_table(monkeypatch, fault):
    """bench/start_faults.py's findings (a damaged start refused, a second instance started) are judged in the
    table bench/run prints, as bench/faults.py alone judges them: the table said `ok` beside them before."""
    fake = types.SimpleNamespace(run=lambda **_: clean_faults_run(**fault), LINE_FAULTS={"hung": 3})
    monkeypatch.setitem(sys.modules, "faults", fake)
    assert {r.verdict for r in run.faults(quick=False) if r.target is not None} == {"ok", "MISSED"}
    fake.run = lambda **_: clean_faults_run()
    assert {r.verdict for r in run.faults(quick=False) if r.target is not None} == {"ok"}


def test_the_soak_row_names_the_calls_without_one_complete_record(monkeypatch):
    """Which call lost its record, and at which stage its caller left: the figure alone gave nothing to go on."""
    figures = {"calls": 160, "seconds": 30.0, "bad_records": 1,
               "bad_examples": [("+79000000042", "queue", True, 0, 0, "10:31:07.250")],
               "kept": "/tmp/hotline-soak-kept-x", "relays_on": 0, "rss_growth_mb": 0.1, "threads_leaked": 1,
               "new_threads": {"wal-sync": 1}, "fds_leaked": -2, "new_fds": {"/tmp/x/calls.db-wal": 1}}
    monkeypatch.setitem(sys.modules, "soak", types.SimpleNamespace(run=lambda **_: figures))
    rows = {r.figure: r for r in run.soak(quick=True)}
    lost = rows["soak: calls without exactly one complete record"]
    # Where its data and log were kept comes first, then the call and when it rang, to find it in that log.
    assert (lost.verdict, lost.note) == ("MISSED", "kept in /tmp/hotline-soak-kept-x; +79000000042 queue answered: "
                                                   "0 records, 0 complete, rang 10:31:07.250")
    assert rows["soak: threads leaked"].note == "wal-sync x1"
    assert rows["soak: file descriptors leaked"].note == ""  # fewer than before: nothing leaked to name


def test_the_faults_row_names_the_calls_without_one_complete_record(monkeypatch):
    lost = clean_faults_run(bad_records=1, bad_examples=[("+79110000003", "gsm2", "queue", True, 0, 0)])
    monkeypatch.setitem(sys.modules, "faults", types.SimpleNamespace(run=lambda **_: lost, LINE_FAULTS={}))
    (row,) = [r for r in run.faults(quick=True) if r.figure == "faults: calls without exactly one complete record"]
    assert (row.verdict, row.note) == ("MISSED", "+79110000003 on gsm2 queue answered: 0 records, 0 complete")
