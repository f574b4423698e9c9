"""Faults from the field, each against the emulator: the line goes down with a reason and comes back."""

from __future__ import annotations

import pytest

from appliance.core.events import (
    AnswerFailed,
    CallAnswered,
    CallerId,
    IncomingCall,
    LineDown,
    LineUp,
)
from appliance.modem.line import ModemLine
from appliance.sim.emulator import ModemEmulator
from tests.support.modem_kit import Events


@pytest.fixture
def events():
    return Events()


def make(emu: ModemEmulator, events: Events, line_id: str = "gsm1", **kw) -> ModemLine:
    line = ModemLine(line_id, emu.port, post=events.q.put, dialect="sim800", **kw)
    line.start()
    return line


def answered_call(emu: ModemEmulator, line: ModemLine, events: Events) -> None:
    emu.incoming_call("+7900")
    assert isinstance(events.next(), IncomingCall)
    assert isinstance(events.next(), CallerId)
    assert events.next() == CallAnswered(line.line_id)


def test_usb_unplug_mid_call_closes_the_call_and_the_line_returns_by_its_stable_name(tmp_path, events):
    emu = ModemEmulator("sim800", link=str(tmp_path / "gsm1-at"))  # like /dev/hotline/gsm1-at
    emu.start()
    other_emu = ModemEmulator("sim800")
    other_emu.start()
    other_events = Events()
    line = make(emu, events)
    other = make(other_emu, other_events, "gsm2")
    try:
        assert events.next() == LineUp("gsm1")
        assert other_events.next() == LineUp("gsm2")
        answered_call(emu, line, events)
        emu.unplug()
        down = events.next()  # the call ends with the line (not as the caller's hang-up): the core closes it
        assert isinstance(down, LineDown) and "gsm1-at" in down.reason
        assert line.status()["state"] == "down"
        # the other line keeps taking calls meanwhile
        answered_call(other_emu, other, other_events)
        emu.replug()
        assert events.next() == LineUp("gsm1")
        assert line.status()["state"] == "up"
        assert line.status()["recoveries"] == 1
        answered_call(emu, line, events)
    finally:
        line.close()
        other.close()
        emu.stop()
        other_emu.stop()


@pytest.mark.parametrize("under_voltage", [False, True])
def test_power_down_report_takes_the_line_down_and_the_power_key_brings_it_back(events, under_voltage):
    emu = ModemEmulator("sim800")
    emu.start()
    pulses = []

    def power_key() -> None:
        pulses.append(1)
        emu.power_on()

    line = make(emu, events, power_cycle=power_key)
    try:
        assert events.next() == LineUp("gsm1")
        emu.power_down(under_voltage=under_voltage)
        down = events.next()
        assert isinstance(down, LineDown)
        assert ("under-voltage" if under_voltage else "normal power down") in down.reason
        assert events.next(timeout=20) == LineUp("gsm1")
        assert pulses  # the modem stayed silent until its power key was pulsed
    finally:
        line.close()
        emu.stop()


def test_hung_modem_without_a_power_key_stays_down_with_the_reason(events):
    emu = ModemEmulator("sim800")
    emu.start()
    line = make(emu, events)
    try:
        assert events.next() == LineUp("gsm1")
        emu.hung = True
        line.answer_timeout = 1.0
        emu.incoming_call("+7900")
        events.next(), events.next()
        assert isinstance(events.next(), AnswerFailed)  # the ringing call is closed, with the reason
        down = events.next()
        assert isinstance(down, LineDown) and "stopped answering" in down.reason
        assert line.status()["state"] == "down"
        assert "stopped answering" in line.status()["reason"]
        emu.hung = False  # the firmware recovers on its own: re-initialising brings the line back
        assert events.next(timeout=20) == LineUp("gsm1")
    finally:
        line.close()
        emu.stop()


def test_sim_pin_from_config_is_entered(events):
    emu = ModemEmulator("sim800", sim_pin="4321")
    emu.start()
    line = make(emu, events, sim_pin="4321")
    try:
        assert events.next() == LineUp("gsm1")
        assert emu.wait_for('AT+CPIN="4321"', 1)
    finally:
        line.close()
        emu.stop()


def test_sim_pin_required_but_not_configured_is_said_in_words(events):
    emu = ModemEmulator("sim800", sim_pin="4321")
    emu.start()
    line = make(emu, events)
    try:
        down = events.next()
        assert isinstance(down, LineDown) and "PIN" in down.reason and "sim_pin" in down.reason
    finally:
        line.close()
        emu.stop()


def test_registration_lost_is_an_alarm_until_the_network_returns(events):
    emu = ModemEmulator("sim800")
    emu.start()
    line = make(emu, events)
    try:
        assert events.next() == LineUp("gsm1")
        emu.set_registration(3)
        down = events.next()
        assert isinstance(down, LineDown) and "denied" in down.reason
        assert line.status()["state"] == "down"
        emu.set_registration(1)
        assert events.next() == LineUp("gsm1")
    finally:
        line.close()
        emu.stop()


def test_garbage_from_the_modem_is_skipped_and_calls_still_work(events):
    emu = ModemEmulator("sim800")
    emu.start()
    line = make(emu, events)
    try:
        assert events.next() == LineUp("gsm1")
        emu.send_garbage(b"\x00\xff\xfe\x81garbage\r\n" + bytes(range(256)) * 8 + b"\r\n")
        answered_call(emu, line, events)
        assert line.status()["skipped_lines"] >= 1
    finally:
        line.close()
        emu.stop()
