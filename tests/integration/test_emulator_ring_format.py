"""The emulator's incoming-call report follows AT+CRC (27.007 6.11), as a real modem's does.

A host that switches the extended format on hears `+CRING: VOICE` instead of `RING`. The emulator used to say
OK to AT+CRC=1 and go on ringing with plain RING. python-gsmmodem-new then took every call's RING for "the
format was changed behind my back", sent AT+CRC=1 again and waited for its OK before it answered. So the
answer bench (bench/answer_latency.py) timed the peer with an extra command round trip that no real modem
would cost it.
"""

from __future__ import annotations

import time

import serial

from appliance.core.events import IncomingCall, LineUp
from appliance.modem.line import ModemLine
from appliance.sim.emulator import ModemEmulator
from tests.support.modem_kit import Events


def _read_until(port: serial.Serial, text: bytes, timeout: float = 5.0) -> bytes:
    got, deadline = b"", time.monotonic() + timeout
    while text not in got and time.monotonic() < deadline:
        got += port.read(max(1, port.in_waiting))
    return got


def _ring_report(emu: ModemEmulator, port: serial.Serial, number: str) -> bytes:
    emu.incoming_call(number)
    heard = _read_until(port, b"+CLIP")
    emu.remote_hangup()
    return heard


def test_a_host_that_asks_for_the_extended_ring_format_hears_cring_until_it_resets_the_modem():
    emu = ModemEmulator("sim7600")
    emu.start()
    port = serial.serial_for_url(emu.port, 115200, timeout=0.2)
    try:
        assert b"\r\nRING\r\n" in _ring_report(emu, port, "+79160000001")
        port.write(b"AT+CRC=1\r")
        assert b"OK" in _read_until(port, b"OK")
        port.write(b"AT+CRC?\r")
        assert b"+CRC: 1" in _read_until(port, b"OK")
        heard = _ring_report(emu, port, "+79160000002")
        assert b"+CRING: VOICE" in heard and b"\r\nRING\r\n" not in heard
        assert len(emu.ring_sent_at) == 2  # the bench's stamp counts the extended report as a ring too
        port.write(b"ATZ\r")  # back to the stored profile: plain RING again
        assert b"OK" in _read_until(port, b"OK")
        assert b"\r\nRING\r\n" in _ring_report(emu, port, "+79160000003")
    finally:
        port.close()
        emu.stop()


def test_the_line_answers_a_modem_that_rings_in_the_extended_format():
    """A modem whose stored profile has AT+CRC=1 (set by another program): the line answers +CRING as a ring."""
    emu = ModemEmulator("sim7600")
    emu.start()
    emu.script.crc = True
    events = Events()
    line = ModemLine("gsm1", emu.port, post=events.post, dialect="sim7600")
    line.start()
    try:
        assert events.next() == LineUp("gsm1")
        emu.incoming_call("+79160000004")
        assert emu.wait_for("ATA", 5)
        call = events.until(IncomingCall)
        assert call.line == "gsm1"
    finally:
        line.close()
        emu.stop()
