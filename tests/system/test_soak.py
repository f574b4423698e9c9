"""A short soak: 160 calls over 4 lines with hang-ups at every stage (bench/soak.py places 10,000).

Real daemon, modem emulators on ptys, mock pins; callers and operators act at random (seeded).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.slow  # 160 calls through the real daemon


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    """The soak in a process of its own, as bench/run runs it: its thread and descriptor counts are then the box's,
    not those of whatever earlier tests in this pytest worker left running (2 descriptors "leaked" that way)."""
    data = tmp_path_factory.mktemp("soak")
    code = ("import json, pathlib, sys; sys.path.insert(0, sys.argv[1]); import soak; "
            "print(json.dumps(soak.run(calls=160, seed=7, progress=False, data_dir=pathlib.Path(sys.argv[2]))))")
    ran = subprocess.run([sys.executable, "-c", code, str(BENCH), str(data)], capture_output=True, text=True,
                         timeout=900, cwd=BENCH.parent)
    assert ran.returncode == 0, ran.stderr[-4000:]
    return json.loads(ran.stdout.strip().splitlines()[-1])


def test_every_call_was_placed_and_most_reached_an_operator_stage(figures):
    assert figures["calls"] == 160
    assert figures["answered"] >= 140  # only callers who hang up while it rings go unanswered
    assert figures["stages"].get("operator", 0) > 60


def test_no_relay_is_left_closed(figures):
    assert figures["relays_on"] == 0


def test_no_thread_or_file_descriptor_leaks(figures):
    assert figures["threads_leaked"] <= 0, figures["new_threads"]
    assert figures["fds_leaked"] <= 0, figures["new_fds"]


def test_every_answered_call_has_exactly_one_complete_record(figures):
    assert figures["bad_records"] == 0, (figures["bad_examples"], figures["bad_detail"])
