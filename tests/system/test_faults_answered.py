"""Whom the faults run counts as answered: the caller an ATA answered (or refused), not whoever was on the line
when one arrived (the soak's miscount, tests/system/test_soak_answered.py, in bench/faults.py too).

A caller who hangs up at once is over for the harness before the box's ATA, written at the RING, reaches the
modem; the next caller hangs up too, then the late ATA arrives and answers no one (NO CARRIER). Counted as the
next caller's, the run looked for a record of a call nobody answered and reported it lost.
"""

from __future__ import annotations

import random
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import faults  # noqa: E402

from tests.support.waiting import wait_until  # noqa: E402


class _Stage(random.Random):
    """The faults run's random choices, with the stage fixed: the caller hangs up while it rings."""

    def choices(self, population, weights=None, *, cum_weights=None, k=1):  # type: ignore[no-untyped-def]
        return ["ringing"] if "ringing" in population else super().choices(population, weights, k=k)


def test_a_late_ata_that_answers_no_one_is_not_counted_as_the_next_callers_answer(tmp_path):
    first, second = "+79000000001", "+79000000002"
    bench = faults.Bench(tmp_path, calls=2, seed=1, quick=True, progress=False)
    try:
        bench.restart()
        emulator = bench.emulators["gsm1"]
        wait_until(lambda: bench.line_up("gsm1"), what="line up")
        # The modem reads the first caller's ATA late: it is on its way while that caller and the next come and go.
        take, arrived, go_on = emulator._command, threading.Event(), threading.Event()

        def late_ata(line: str, at: float) -> None:
            if line.upper() == "ATA" and not go_on.is_set():
                arrived.set()
                go_on.wait(10)
            take(line, at)

        emulator._command = late_ata  # type: ignore[method-assign]
        emulator.incoming_call(first)
        wait_until(arrived.is_set, what="the first caller's ATA on its way")
        emulator.cancel_call()
        wait_until(lambda: bench.line_call("gsm1") is None, what="the first caller's call over for the harness")
        cancel = emulator.cancel_call

        def then_the_late_ata() -> None:  # the next caller hangs up; then the first caller's ATA reaches the modem
            cancel()
            go_on.set()
            assert emulator.wait_for("ATA", 5)

        emulator.cancel_call = then_the_late_ata  # type: ignore[method-assign]
        stage, answered = bench.place_call("gsm1", second, _Stage(1))
        assert emulator.script.call == "idle"  # the late ATA met no call: it answered no one
    finally:
        bench.hotline.kill()
        bench.close()
    assert (stage, answered) == ("ringing", False), "a caller nobody answered counted as answered"
