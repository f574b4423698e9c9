"""Whom the faults run counts as answered: the caller an ATA answered (or refused), not whoever was on the line
when one arrived (the soak's miscount, tests/system/test_soak_answered.py, was in bench/faults.py too): counted as
the next caller's, a late ATA that answered no one made the run look for a record of a call nobody answered.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import faults  # noqa: E402

from tests.support.late_ata import RingingOnly, first_callers_ata_held  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402


def test_a_late_ata_that_answers_no_one_is_not_counted_as_the_next_callers_answer(tmp_path):
    first, second = "+79000000001", "+79000000002"
    bench = faults.Bench(tmp_path, calls=2, seed=1, quick=True, progress=False)
    try:
        bench.restart()
        emulator = bench.emulators["gsm1"]
        wait_until(lambda: bench.line_up("gsm1"), what="line up")
        first_callers_ata_held(emulator, first, over=lambda: bench.line_call("gsm1") is None)
        stage, answered = bench.place_call("gsm1", second, RingingOnly(1))
        assert emulator.script.call == "idle"  # the late ATA met no call: it answered no one
    finally:
        bench.hotline.kill()
        bench.close()
    assert (stage, answered) == ("ringing", False), "a caller nobody answered counted as answered"
