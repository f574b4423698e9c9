"""Outbound calls and transfers through a line on the emulator's pty, per modem family."""

from __future__ import annotations

import queue

import pytest

from appliance.core.events import (
    CallAnswered,
    CallerId,
    DialAnswered,
    DialFailed,
    IncomingCall,
    LineDown,
    LineUp,
    RemoteHangup,
    TransferResult,
)
from appliance.modem.line import ModemLine
from appliance.sim.emulator import ModemEmulator
from tests.support.modem_kit import Events

FAMILIES = ["sim800", "sim7600", "quectel", "huawei", "v253"]




@pytest.fixture(name="make")
def make_fixture():
    started = []

    def make(dialect: str, **kw) -> tuple[ModemEmulator, ModemLine, Events]:
        emu = ModemEmulator(dialect)
        emu.start()
        events = Events()
        line = ModemLine("l1", emu.port, post=events.q.put, dialect=dialect, **kw)
        started.append((emu, line))
        line.start()
        events.up = events.until(LineUp)  # what the line can do (transfers) is read from it
        assert events.up == LineUp("l1")
        return emu, line, events

    yield make
    for emu, line in started:
        line.close()
        emu.stop()


@pytest.mark.parametrize("dialect", FAMILIES)
def test_a_callback_is_answered_and_the_far_end_hangs_up(make, dialect):
    emu, line, events = make(dialect)
    line.dial("+79161234567")
    assert events.until(DialAnswered) == DialAnswered("l1")
    assert emu.wait_for("ATDT+79161234567" if dialect == "v253" else "ATD+79161234567;", 1)
    assert line.status()["call"] == "active"
    emu.remote_hangup()
    assert isinstance(events.until(RemoteHangup), RemoteHangup)
    assert line.status()["call"] == "idle"


@pytest.mark.parametrize(("dialect", "outcome", "reason"), [
    ("sim800", "busy", "busy"),
    ("sim800", "no answer", "no answer"),
    ("sim800", "failed", "no carrier"),
    ("sim800", "error", "failed: +CME ERROR: 30"),
    ("huawei", "busy", "busy"),
    ("quectel", "no answer", "no answer"),
    ("sim7600", "busy", "busy"),
    ("v253", "busy", "busy"),
    ("v253", "no dialtone", "no dialtone"),
])
def test_a_callback_that_fails_says_why(make, dialect, outcome, reason):
    emu, line, events = make(dialect)
    emu.script.dial_outcome = outcome
    line.dial("5551234")
    assert events.until(DialFailed) == DialFailed("l1", reason)
    assert line.status()["call"] == "idle"
    assert line.status()["state"] == "up"


def test_a_far_end_that_rings_forever_is_given_up_and_hung_up(make):
    emu, line, events = make("sim800", dial_timeout=1.0)
    emu.script.dial_outcome = "silent"
    line.dial("5551234")
    assert events.until(DialFailed) == DialFailed("l1", "no answer")
    assert emu.wait_for("ATH", 5)
    assert emu.script.call == "idle"


def test_dialling_during_a_call_fails_without_touching_it(make):
    emu, line, events = make("sim800")
    emu.incoming_call("+7900")
    events.until(CallerId)
    events.until(CallAnswered)
    line.dial("5551234")
    failed = events.until(DialFailed)
    assert "busy with another call" in failed.reason
    assert emu.count("ATD") == 0 and line.status()["call"] == "active"


def test_a_bad_number_is_refused_by_name(make):
    emu, line, _ = make("sim800")
    with pytest.raises(ValueError, match="'555;ATH'"):
        line.dial("555;ATH")
    with pytest.raises(ValueError, match="transfer number"):
        line.transfer("")
    assert emu.count("ATD") == 0


def test_dialling_on_a_line_that_is_down_fails_at_once(make):
    emu, line, events = make("sim800")
    emu.unplug()
    events.until(LineDown)
    line.dial("5551234")
    assert events.until(DialFailed).reason.startswith("failed: line down")


# --- transfer --------------------------------------------------------------------------------


def answered(emu: ModemEmulator, line: ModemLine, events: Events, caller: str = "+79160000001") -> None:
    emu.incoming_call(caller)
    events.until(IncomingCall)
    events.until(CallAnswered)


def test_a_ringing_call_is_deflected(make):
    emu, line, events = make("sim800", answer_after_rings=3)  # still ringing when the transfer comes
    emu.incoming_call("+79160000001")
    events.until(IncomingCall)
    line.transfer("+79169999999")
    assert events.until(TransferResult) == TransferResult("l1", "+79169999999", True, None)
    assert emu.script.deflected == ["+79169999999"]
    assert line.status()["call"] == "idle"


def test_deflection_refused_by_the_network_keeps_the_call_ringing(make):
    emu, line, events = make("sim800", answer_after_rings=3)
    emu.script.refuse = {"deflect"}
    emu.incoming_call("+79160000001")
    events.until(IncomingCall)
    line.transfer("+79169999999")
    result = events.until(TransferResult)
    assert not result.ok and "deflection" in result.reason
    assert line.status()["call"] == "ringing"


@pytest.mark.parametrize("dialect", ["sim800", "quectel", "huawei"])
def test_an_answered_call_is_handed_over_by_explicit_transfer(make, dialect):
    emu, line, events = make(dialect)
    answered(emu, line, events)
    line.transfer("+79169999999")
    assert events.until(TransferResult) == TransferResult("l1", "+79169999999", True, None)
    assert emu.script.transferred == [("+79160000001", "+79169999999")]
    assert emu.wait_for("AT+CHLD=4", 5)  # the emulator notes a command once its reply is out: after our OK, maybe
    assert [c for c in emu.received if c.startswith("AT+CHLD")] == ["AT+CHLD=2", "AT+CHLD=4"]
    assert line.status()["call"] == "idle"
    emu.remote_hangup()  # whatever the network says now is not about our call any more
    with pytest.raises(queue.Empty):
        events.until(RemoteHangup, timeout=0.5)


def test_a_network_without_transfer_gets_a_conference(make):
    emu, line, events = make("sim800")
    emu.script.refuse = {"ect"}
    answered(emu, line, events)
    line.transfer("+79169999999")
    result = events.until(TransferResult)
    assert result.ok and "conference" in result.reason
    assert emu.script.conference
    assert line.status()["call"] == "active"


def test_a_busy_transfer_target_gives_the_caller_back(make):
    emu, line, events = make("sim800")
    answered(emu, line, events)
    emu.script.dial_outcome = "busy"
    line.transfer("+79169999999")
    assert events.until(TransferResult) == TransferResult("l1", "+79169999999", False, "busy")
    assert (emu.script.call, emu.script.caller, emu.script.held) == ("active", "+79160000001", None)
    assert line.status()["call"] == "active"
    emu.remote_hangup()
    assert isinstance(events.until(RemoteHangup), RemoteHangup)


def test_an_analogue_line_cannot_transfer(make):
    emu, line, events = make("v253")
    answered(emu, line, events, caller="5551234")
    line.transfer("5559999")
    result = events.until(TransferResult)
    assert not result.ok and "V.253" in result.reason
    assert emu.count("AT+CHLD") == 0


def test_transfer_without_a_call_says_so(make):
    _, line, events = make("sim800")
    line.transfer("+79169999999")
    result = events.until(TransferResult)
    assert not result.ok and "no call" in result.reason
