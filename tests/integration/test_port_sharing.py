"""One modem port, one reader: a second program opening a line's AT or voice port is refused, not let in.

Two readers of one tty each get part of every reply and of every audio frame (pyserial then reports "readiness
to read but returned no data"). A leftover daemon still retrying its old /dev/pts/N (or ModemManager on
/dev/ttyUSB2) did exactly that to a running box's voice port in the test suite, and the caller missed the
greeting. The line's ports are opened with an exclusive lock (pyserial's flock), as `hotline check --hardware`
expects when it reports a running daemon's port as busy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tty
from pathlib import Path

import pytest
import serial

from appliance.audio.voice_port import VoicePort
from appliance.core.events import LineDown, LineUp
from appliance.modem.line import ModemLine
from appliance.sim.emulator import ModemEmulator
from tests.support.modem_kit import Events
from tests.support.waiting import wait_until


def test_a_second_line_on_a_running_lines_modem_port_is_refused_and_the_first_keeps_its_calls(line, emulator):
    other = Events()
    intruder = ModemLine("gsm2", emulator.port, post=other.post, dialect="sim800")
    try:
        intruder.start()
        down = other.next()
        # says who holds it, and that it tries again (here the holder is this process: the first line)
        assert isinstance(down, LineDown) and f"in use by process {os.getpid()} (" in down.reason, down
        assert "tries again" in down.reason, down
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


def test_a_line_retrying_its_unplugged_modem_never_opens_the_next_modem_made_on_the_machine(events):
    """A pty's number is free once its modem is gone, and the next pty made anywhere takes the lowest free one.
    A line retrying its unplugged modem's /dev/pts/N then opened the next test's modem (in any xdist worker),
    initialised it and held its lock: that test's line read "Could not exclusively lock port" (stop 18's CI
    flake, test_call_waiting_end_to_end). An emulator's port is a path of its own that goes with it, as a udev
    name (/dev/serial/by-id/..., /dev/hotline/...) goes with its device: the retrying line finds no port."""
    first = ModemEmulator("sim800")
    first.start()
    opened: list[str] = []

    def counted(port: str, **options) -> serial.Serial:
        opened.append(port)
        return serial.serial_for_url(port, **options)

    line = ModemLine("gsm1", first.port, post=events.post, dialect="sim800", serial_factory=counted)
    nxt = ModemEmulator("sim800")
    try:
        line.start()
        assert events.next() == LineUp("gsm1")
        tried = len(opened)
        first.unplug()  # the modem's USB cable pulled
        events.until(LineDown)
        # its first retry failed: the line holds nothing of the old pty now, so its number is free
        wait_until(lambda: len(opened) > tried, 10, "the line to retry its port")
        nxt.start()  # the next test's modem
        tried = len(opened)
        wait_until(lambda: len(opened) >= tried + 2 or nxt.received, 10, "the line to try its port twice more")
        assert nxt.received == [], "the line retrying its unplugged modem opened the next one"
        assert "No such file" in line.status()["reason"], line.status()
    finally:
        line.close()
        nxt.stop()
        first.stop()


def test_an_emulator_never_stopped_leaves_no_port_path_behind_when_its_process_exits(tmp_path):
    """Its directory (the port's link) goes at the process's exit too: a leftover link would point at whatever
    pty the kernel numbers alike next."""
    code = ("from appliance.sim.emulator import ModemEmulator; e = ModemEmulator('sim800'); e.start(); "
            "print(e.port, flush=True)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    port = Path(done.stdout.strip())
    assert done.returncode == 0 and port.name == "at", done.stdout + done.stderr
    assert not port.parent.exists(), f"{port.parent} outlived its emulator's process"
