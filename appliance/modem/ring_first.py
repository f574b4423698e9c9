"""The AT reader's way with a read that begins with a RING line: the line answers from there (`on_ring`:
calls.py, `Calls.ring_first`) before the read is split into lines, ahead of the ~0.1 ms of Python every report
takes before it is news; when it answered, the reader gives way, then does what the line left to do about
that RING, then takes the rest of the read (at.py's `AtChannel`, which knows nothing of answering).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from appliance.modem.port_wait import wait_for_more

log = logging.getLogger("appliance.modem.at")  # the AT channel's reader speaks under its own name

RING = b"RING\r"  # a read beginning with this (after line ends) begins with a RING line: `on_ring`
AFTER_ANSWER = 0.005  # the longest the rest of a read waits after the ATA `on_ring` wrote (`give_way`)


def give_way(port: Any) -> None:
    """After the ATA `on_ring` wrote: the rest of the read (the caller's number) waits until the modem says
    more (the ATA's reply) or AFTER_ANSWER has passed, so the reader is not on the CPU the ATA's way to the
    modem may need (a pty's bytes are moved on by a kernel worker: ~0.1 ms of Python here after the write
    delayed the ATA as long under load). Nothing waits for that rest meanwhile: what the core hears of the
    call is held until the ATA's reply anyway, and the number is journalled then (answer.py)."""
    wait_for_more(port, AFTER_ANSWER)


def ring_first(port: Any, hook: Callable[[], Callable[[], None] | None], name: str) -> None:
    """`hook` (the channel's `on_ring`); when it answered, the reader gives way, then does what it left to do
    about the RING (waking the worker that awaits the ATA's reply among it: on the other core, that wake-up took
    CPU the ATA's way needs)."""
    try:
        rest = hook()
    except Exception:  # noqa: BLE001 - the reader must go on; the RING is read as a report next
        log.exception("%s: answering at the RING failed", name)
        return
    if rest is None:
        return
    try:
        give_way(port)
    finally:  # whatever the wait met (a port closing), the answer's reply is still awaited
        try:
            rest()
        except Exception:  # noqa: BLE001 - as above
            log.exception("%s: answering at the RING failed", name)
