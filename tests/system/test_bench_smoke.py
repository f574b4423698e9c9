"""Every bench section runs in its quick mode and yields figures, so the bench code cannot rot."""

from __future__ import annotations

import sys
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
