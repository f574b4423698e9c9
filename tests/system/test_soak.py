"""A short soak: 160 calls over 4 lines with hang-ups at every stage (bench/soak.py places 10,000).

Real daemon, modem emulators on ptys, mock pins; callers and operators act at random (seeded).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import soak  # noqa: E402

pytestmark = pytest.mark.slow  # 160 calls through the real daemon


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    return soak.run(calls=160, seed=7, progress=False, data_dir=tmp_path_factory.mktemp("soak"))


def test_every_call_was_placed_and_most_reached_an_operator_stage(figures):
    assert figures["calls"] == 160
    assert figures["answered"] >= 140  # only callers who hang up while it rings go unanswered
    assert figures["stages"].get("operator", 0) > 60


def test_no_relay_is_left_closed(figures):
    assert figures["relays_on"] == 0


def test_no_thread_or_file_descriptor_leaks(figures):
    assert figures["threads_leaked"] <= 0, figures["new_threads"]
    assert figures["fds_leaked"] <= 0


def test_every_answered_call_has_exactly_one_complete_record(figures):
    assert figures["bad_records"] == 0, figures["bad_examples"]
