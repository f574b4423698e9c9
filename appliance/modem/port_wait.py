"""Waiting on a modem's port: how the AT reader sleeps until the modem says something, apart from what it says.

A pyserial port on POSIX is waited on with select, on its descriptor and its cancel_read pipe (so `cancel_read`
still wakes the reader), and then read whole. Any other kind of port (a URL handler, a test's fake) is read as
pyserial reads it: a blocking read of one byte, then the rest.
"""

from __future__ import annotations

import select
from typing import Any


def _waits(port: Any) -> list[int] | None:
    """The port's descriptor and its cancel_read pipe (pyserial's PosixSerial, a private attribute of it), or
    None: read as before."""
    try:
        waits = [port.fileno(), port.pipe_abort_read_r]
    except Exception:  # noqa: BLE001 - another kind of port, or closed
        return None
    return waits if all(isinstance(fd, int) for fd in waits) else None


def read_burst(port: Any) -> bytes:
    """What the port has, once it has something. read(1) while waiting, then the rest, took a second read and a
    split of the first byte alone, ~0.05 ms cold, between a RING's arrival and the line's answer."""
    waits = _waits(port)
    if waits is not None:
        select.select(waits, [], [])
    return port.read(max(1, port.in_waiting))


def wait_for_more(port: Any, seconds: float) -> None:
    """Until the port has more to read, or `seconds` have passed (at once for a port that cannot be waited on)."""
    waits = _waits(port)
    if waits is not None:
        select.select(waits, [], [], seconds)
