"""One modem port, one reader: a second program opening a line's AT or voice port is refused, not let in.

Two readers of one tty each get part of every reply and of every audio frame (pyserial then reports "readiness
to read but returned no data"). A leftover daemon still retrying its old /dev/pts/N (or ModemManager on
/dev/ttyUSB2) did exactly that to a running box's voice port in the test suite, and the caller missed the
greeting. The line's ports are opened with an exclusive lock (pyserial's flock), as `hotline check --hardware`
expects when it reports a running daemon's port as busy.
"""

from __future__ import annotations

import os
import tty

import pytest
import serial

from appliance.audio.voice_port import VoicePort
from appliance.core.events import LineDown
from appliance.modem.line import ModemLine
from tests.support.modem_kit import Events


def test_a_second_line_on_a_running_lines_modem_port_is_refused_and_the_first_keeps_its_calls(line, emulator):
    other = Events()
    intruder = ModemLine("gsm2", emulator.port, post=other.post, dialect="sim800")
    try:
        intruder.start()
        down = other.next()
        assert isinstance(down, LineDown) and "lock" in down.reason, down
        with pytest.raises(serial.SerialException, match="lock"):
            serial.serial_for_url(emulator.port, timeout=0.1, exclusive=True)
    finally:
        intruder.close()
    assert line.status()["state"] == "up"


def test_a_second_opener_of_a_voice_port_in_use_is_refused():
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    voice, intruder = VoicePort("gsm1", path), VoicePort("gsm1", path)
    capture = voice.capture(path, 8000, 160)
    try:
        with pytest.raises(OSError, match="cannot be opened.*lock"):
            intruder.capture(path, 8000, 160)
    finally:
        capture.close()
        for fd in (master, slave):
            os.close(fd)
