"""Whom the soak counts as answered: the caller an ATA answered, not whoever was on the line when one arrived.

The 10,000-call soak once reported a caller who hung up while it rang as "answered: 0 records". The box writes
its ATA at the RING; the caller before them had hung up at once, so the harness moved on to the next caller
before that ATA reached the modem, and it landed after the next caller's own hang-up: it answered no one (NO
CARRIER), yet the soak counted it as the next caller's and looked for their record.
"""

from __future__ import annotations

import random
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import soak  # noqa: E402
from simbox import Box  # noqa: E402

from tests.support.waiting import wait_until  # noqa: E402


class _Stage(random.Random):
    """The soak's random choices, with the stage fixed: the caller hangs up while it rings."""

    def choices(self, population, weights=None, *, cum_weights=None, k=1):  # type: ignore[no-untyped-def]
        return ["ringing"] if "ringing" in population else super().choices(population, weights, k=k)


def test_a_late_ata_that_answers_no_one_is_not_counted_as_the_next_callers_answer(tmp_path):
    first, second = "+79000000001", "+79000000002"
    with Box(tmp_path / "data") as box:
        emulator = box.simulation.emulators["gsm1"]
        wait_until(lambda: box.status()["lines"][0]["state"] == "up", what="line up")
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
        wait_until(lambda: box.line_call("gsm1") is None, what="the first caller's call over for the harness")
        cancel = emulator.cancel_call

        def then_the_late_ata() -> None:  # the next caller hangs up; then the first caller's ATA reaches the modem
            cancel()
            go_on.set()
            assert emulator.wait_for("ATA", 5)

        emulator.cancel_call = then_the_late_ata  # type: ignore[method-assign]
        stage, answered = soak.place_call(box, "gsm1", second, _Stage(1))
        assert emulator.script.call == "idle"  # the late ATA met no call: it answered no one
    assert (stage, answered) == ("ringing", False), "a caller nobody answered counted as answered"
