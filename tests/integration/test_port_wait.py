"""Reading and writing a modem's port by its descriptor (port_wait.py), on a real pty: what pyserial's own read and
write did is still done, the plain case without their extra system calls."""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Iterator

import pytest
import serial

from appliance.modem.port_wait import BURST, read_burst, write_now


@pytest.fixture
def pty() -> Iterator[tuple[int, serial.Serial]]:
    """(the modem's end, the line's pyserial port with a short write timeout)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    tty.setraw(master)
    port = serial.serial_for_url(os.ttyname(slave), baudrate=115200, timeout=None, write_timeout=0.2)
    yield master, port
    port.close()
    os.close(master)
    os.close(slave)


def read_from(fd: int, size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        got.extend(os.read(fd, size - len(got)))
    return bytes(got)


def test_a_command_reaches_the_modem_whole(pty):
    modem, port = pty
    write_now(port, b"ATA\r")
    assert read_from(modem, 4) == b"ATA\r"


def test_a_write_the_modem_does_not_take_ends_in_the_write_timeout_as_pyserials_own(pty):
    """What the port's buffer cannot take is left to pyserial's write, which waits for room up to its write
    timeout: a modem that stopped reading is still noticed (the channel takes it for a lost port)."""
    _, port = pty
    with pytest.raises(serial.SerialTimeoutException):
        write_now(port, b"x" * (1 << 20))


def test_a_burst_longer_than_one_read_arrives_whole_and_in_order(pty):
    modem, port = pty
    sent = bytes(range(256)) * (3 * BURST // 256 + 1)
    writer = threading.Thread(target=lambda: os.write(modem, sent))
    writer.start()
    got = bytearray()
    while len(got) < len(sent):
        got.extend(read_burst(port))
    writer.join()
    assert bytes(got) == sent


def test_cancel_read_wakes_a_waiting_read_with_nothing(pty):
    """How the channel parks its reader to lend the port (AtChannel.lend)."""
    _, port = pty
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(read_burst(port)))
    reader.start()
    port.cancel_read()
    reader.join(5)
    assert got == [b""]


def test_a_write_to_a_closed_port_fails_as_pyserials_own(pty):
    _, port = pty
    port.close()
    with pytest.raises(serial.PortNotOpenError):
        write_now(port, b"AT\r")
