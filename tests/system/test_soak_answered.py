"""Whom the soak counts as answered: the caller an ATA answered, not whoever was on the line when one arrived.

The 10,000-call soak once reported a caller who hung up while it rang as "answered: 0 records". The box writes
its ATA at the RING; the caller before them had hung up at once, so the harness moved on to the next caller
before that ATA reached the modem, and it landed after the next caller's own hang-up: it answered no one (NO
CARRIER), yet the soak counted it as the next caller's and looked for their record.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import soak  # noqa: E402
from simbox import Box  # noqa: E402

from tests.support.late_ata import RingingOnly, first_callers_ata_held  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402


def test_a_late_ata_that_answers_no_one_is_not_counted_as_the_next_callers_answer(tmp_path):
    first, second = "+79000000001", "+79000000002"
    with Box(tmp_path / "data") as box:
        emulator = box.simulation.emulators["gsm1"]
        wait_until(lambda: box.status()["lines"][0]["state"] == "up", what="line up")
        first_callers_ata_held(emulator, first, over=lambda: box.line_call("gsm1") is None)
        stage, answered = soak.place_call(box, "gsm1", second, RingingOnly(1))
        assert emulator.script.call == "idle"  # the late ATA met no call: it answered no one
    assert (stage, answered) == ("ringing", False), "a caller nobody answered counted as answered"
