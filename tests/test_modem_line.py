"""ModemLine against the emulator on a real pty: the events the core sees for a call's life."""

from __future__ import annotations

import re

import pytest
from modem_kit import Events

from appliance.core.events import (
    AnswerFailed,
    CallAnswered,
    CallerId,
    DtmfReceived,
    IncomingCall,
    LineDown,
    LineUp,
    RemoteHangup,
)
from appliance.modem.emulator import ModemEmulator
from appliance.modem.line import ModemLine


@pytest.fixture
def emulator():
    emu = ModemEmulator("sim800")
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def events():
    return Events()


@pytest.fixture
def line(emulator, events):
    ln = ModemLine("gsm1", emulator.port, post=events.post, dialect="sim800")
    ln.start()
    assert events.next() == LineUp("gsm1")
    yield ln
    ln.close()


def test_start_brings_the_line_up_with_health(line, emulator):
    status = line.status()
    assert status["state"] == "up"
    assert status["reason"] is None
    assert status["dialect"] == "sim800"
    assert status["operator"] == "MTS RUS"
    assert status["signal_dbm"] == -73
    assert status["imei"] == "866000000000001"
    assert emulator.wait_for("AT+DDET=1", 1)  # modem-side DTMF detection switched on
    assert emulator.wait_for("AT+CLIP=1", 1)


def test_a_call_from_ring_to_remote_hangup(line, emulator, events):
    emulator.incoming_call("+79161234567")
    assert events.next() == IncomingCall("gsm1", None)
    assert events.next() == CallerId("gsm1", "+79161234567")
    line.answer()
    assert events.next() == CallAnswered("gsm1")
    assert emulator.wait_for("ATA", 1)
    emulator.send_dtmf("1#")
    assert events.next() == DtmfReceived("gsm1", "1")
    assert events.next() == DtmfReceived("gsm1", "#")
    emulator.remote_hangup()
    assert events.next() == RemoteHangup("gsm1", "caller hung up")
    assert line.status()["call"] == "idle"


def test_withheld_caller_id_is_anonymous_not_an_error(line, emulator, events):
    emulator.incoming_call(None)
    assert events.next() == IncomingCall("gsm1", None)
    assert events.next() == CallerId("gsm1", None)
    assert line.status()["state"] == "up"


def test_our_hangup_is_not_reported_as_the_callers(line, emulator, events):
    emulator.incoming_call("+100")
    events.until(CallerId)
    line.answer()
    events.until(CallAnswered)
    line.hangup()
    assert emulator.wait_for("ATH", 2)
    emulator.incoming_call("+200")  # the next event is the next call, not a stray RemoteHangup
    assert events.next() == IncomingCall("gsm1", None)


def test_call_dropped_without_no_carrier_is_still_seen(line, emulator, events):
    emulator.incoming_call("+79161234567")
    events.until(CallerId)
    line.answer()
    events.until(CallAnswered)
    emulator.drop_call()  # only +CLCC: ...,6,... tells
    assert isinstance(events.next(), RemoteHangup)


def test_cme_error_on_ata_is_answer_failed(line, emulator, events):
    emulator.fail_answer("+CME ERROR: 3")
    emulator.incoming_call("+7900")
    events.until(CallerId)
    line.answer()
    failed = events.next()
    assert isinstance(failed, AnswerFailed)
    assert "+CME ERROR: 3" in failed.reason
    assert line.status()["state"] == "up"


def test_answer_never_blocks_the_caller_even_when_the_modem_hangs(line, emulator, events):
    emulator.incoming_call("+7900")
    events.until(CallerId)
    emulator.hung = True
    line.answer_timeout = 2.0
    line.answer()  # returns at once; the outcome arrives later as events
    assert events.q.empty() or not isinstance(events.q.queue[0], CallAnswered)
    failed = events.until(AnswerFailed, timeout=30)
    assert "did not answer" in failed.reason
    down = events.until(LineDown, timeout=10)
    assert "stopped answering" in down.reason


def test_a_port_that_cannot_be_opened_leaves_the_line_down_with_a_clear_reason(events):
    ln = ModemLine("gsm9", "/dev/nonexistent-modem", post=events.post, dialect="sim800")
    try:
        ln.start()  # returns: the line keeps looking for its port in the background
        down = events.q.get(timeout=5)
        assert isinstance(down, LineDown) and re.search("gsm9.*/dev/nonexistent-modem", down.reason)
        assert ln.status()["state"] == "down"
    finally:
        ln.close()


def test_an_unknown_dialect_is_refused_by_name(events):
    with pytest.raises(ValueError, match="'nokia'"):
        ModemLine("gsm1", "/dev/null", post=events.post, dialect="nokia")


def test_silent_modem_at_start_posts_line_down_with_reason(emulator, events):
    emulator.hung = True
    ln = ModemLine("gsm1", emulator.port, post=events.post, dialect="sim800")
    try:
        ln.start()
        down = events.next()
        assert isinstance(down, LineDown)
        assert "does not answer" in down.reason
        assert ln.status()["state"] == "down"
        line_answer_while_down = ln.answer
        line_answer_while_down()
        assert isinstance(events.until(AnswerFailed), AnswerFailed)
    finally:
        ln.close()


def test_close_is_idempotent(line):
    line.close()
    line.close()
