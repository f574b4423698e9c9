"""A caller's ATA that reaches the modem late, after the next caller has come and hung up: how the soak and the
faults run once counted a caller nobody answered as answered (tests/system/test_soak_answered.py and
test_faults_answered.py).

The box writes its ATA at the RING. A caller who hangs up at once is over for a harness before that ATA reaches the
modem; the next caller hangs up too, and only then does the late ATA arrive: it meets an idle modem and answers no
one (NO CARRIER).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

from appliance.sim.emulator import ModemEmulator

from .waiting import wait_until


class RingingOnly(random.Random):
    """A harness's random choices, with the stage fixed: the caller hangs up while it rings."""

    def choices(self, population, weights=None, *, cum_weights=None, k=1):  # type: ignore[no-untyped-def]
        return ["ringing"] if "ringing" in population else super().choices(population, weights, k=k)


def first_callers_ata_held(emulator: ModemEmulator, first: str, over: Callable[[], bool]) -> None:
    """`first` rings and hangs up while the box's ATA for them is held on its way to the modem (`over`: their
    call is over for the harness); the next caller's hang-up (the emulator's cancel_call) then lets that ATA in."""
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
    wait_until(over, what="the first caller's call over for the harness")
    cancel = emulator.cancel_call

    def then_the_late_ata() -> None:  # the next caller hangs up; then the first caller's ATA reaches the modem
        cancel()
        go_on.set()
        assert emulator.wait_for("ATA", 5)

    emulator.cancel_call = then_the_late_ata  # type: ignore[method-assign]
