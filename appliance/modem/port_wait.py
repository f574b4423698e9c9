"""Waiting on a modem's port, reading it and writing to it: how the AT reader sleeps until the modem says
something, apart from what it says.

A pyserial port on POSIX is waited on with select, on its descriptor and its cancel_read pipe (so `cancel_read`
still wakes the reader), and then read whole with one read of its descriptor. Any other kind of port (a URL
handler, a test's fake) is read as pyserial reads it: a blocking read of one byte, then the rest.

pyserial's own read would ask the port how much it holds (an ioctl) and select on it again before its read, and
its write selects on the port once more after writing: three system calls and ~0.03 ms of Python cold, on the way
from a RING to its ATA and on the CPU the ATA's way to the modem needs (docs/proof.md, issue 18, eighth session).
Anything but the plain case (data there, everything written) is left to pyserial, so its errors, waits and write
timeout are as they were.
"""

from __future__ import annotations

import os
import select
from typing import Any

BURST = 4096  # more than a modem's reports ever hold at once; a longer burst is read in turns


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
        ready, _, _ = select.select(waits, [], [])
        if ready == waits[:1]:  # the port alone (not cancel_read): its bytes, read at once
            try:
                data = os.read(waits[0], BURST)
            except OSError:
                data = b""  # pyserial's read below says what it is (or waits out a false alarm)
            if data:
                return data
    return port.read(max(1, port.in_waiting))


def wait_for_more(port: Any, seconds: float) -> None:
    """Until the port has more to read, or `seconds` have passed (at once for a port that cannot be waited on)."""
    waits = _waits(port)
    if waits is not None:
        select.select(waits, [], [], seconds)


def write_now(port: Any, data: bytes) -> None:
    """`data` written to the port: at once by its descriptor when it takes it all (a command is a few bytes),
    else (a full buffer, an error, another kind of port) the rest by pyserial's write, with its write timeout."""
    try:
        fd = port.fileno() if hasattr(port, "pipe_abort_write_r") else None
    except Exception:  # noqa: BLE001 - closed: pyserial's write says so
        fd = None
    if isinstance(fd, int):
        try:
            data = data[os.write(fd, data):]
        except OSError:
            pass  # pyserial's write below tries again and says what it is
        if not data:
            return
    port.write(data)
