"""The modem edges of issue 14 met from outside: a pty emulator speaking each family's AT text, the real ModemLine.

Vendor final results and refused optional commands, a second caller while a call is up, every report form read
right on a live line (registration with location, LTE-only modules, MISSED_CALL, warnings, a stray DLE), and the
V.253 landline answering only after caller ID.
"""

from __future__ import annotations

import queue

import pytest

from appliance.core.events import (
    CallAnswered,
    CallerId,
    DialFailed,
    DtmfReceived,
    IncomingCall,
    LineDown,
    LineUp,
    RemoteHangup,
    UnansweredCall,
)
from appliance.modem import call_states as cs
from appliance.modem.at import Reply
from appliance.modem.dialects.base import CallWaiting, LineAnswered, LineHungUp
from appliance.modem.line import ModemLine
from appliance.modem.news import LineNews
from appliance.sim.emulator import ModemEmulator
from tests.support.modem_kit import Events
from tests.support.waiting import wait_until

SECOND = "+79035550000"


@pytest.fixture
def rig():
    made: list[tuple[ModemEmulator, ModemLine]] = []

    def make(dialect: str, setup=None, **line_args) -> tuple[ModemEmulator, ModemLine, Events]:
        emu = ModemEmulator(dialect)
        if setup is not None:
            setup(emu.script)
        emu.start()
        events = Events()
        line = ModemLine("l1", emu.port, post=events.post, dialect=dialect, **line_args)
        made.append((emu, line))
        line.start()
        return emu, line, events

    yield make
    for emu, line in made:
        line.close()
        emu.stop()


def answered_call(emu: ModemEmulator, line: ModemLine, events: Events, caller: str = "+79161234567") -> None:
    emu.incoming_call(caller)
    assert events.until(IncomingCall).line == "l1"
    assert events.until(CallAnswered) == CallAnswered("l1")  # the line answers by itself


# --- item 3: vendor final results, optional commands -------------------------------------------


@pytest.mark.parametrize("refusal", ["COMMAND NOT SUPPORT", None])
def test_a_huawei_refusing_the_voice_probe_comes_up_with_voice_marked_missing(rig, refusal):
    """E1752 data firmwares answer AT^CVOICE? with COMMAND NOT SUPPORT (or not at all): the line comes up."""
    emu, line, events = rig("huawei", lambda s: s.unsupported.update({"AT^CVOICE?": refusal}))
    assert events.next() == LineUp("l1")
    status = line.status()
    assert status["state"] == "up"
    assert "AT^CVOICE?" in status["missing"]["voice"]


def test_refused_audio_routing_after_answer_still_answers_the_call(rig):
    """AT^DDSETEX=2 refused: the call is answered (not recorded as missed) and ends normally."""
    emu, line, events = rig("huawei", lambda s: s.unsupported.update({"AT^DDSETEX=2": "COMMAND NOT SUPPORT"}))
    assert events.next() == LineUp("l1")
    answered_call(emu, line, events)
    assert line.status()["missing"]["audio_routing"] == "AT^DDSETEX=2 answered COMMAND NOT SUPPORT"
    emu.remote_hangup()
    assert isinstance(events.until(RemoteHangup), RemoteHangup)
    assert line.status()["state"] == "up"


def test_refused_dtmf_detection_is_marked_missing_and_the_line_is_up(rig):
    emu, line, events = rig("sim800", lambda s: s.unsupported.update({"AT+DDET=1": "ERROR"}))
    assert events.next() == LineUp("l1")
    assert line.status()["missing"] == {"dtmf_detection": "AT+DDET=1 answered ERROR"}


def test_a_quectel_caller_answered_by_a_late_ata_who_leaves_before_the_check_gets_their_call(rig):
    """Issue 14: the first caller hangs up as the ATA goes out (their NO CARRIER is read as its reply), the next
    caller rings, the modem only then reads the ATA and answers them, and they hang up at once. An EC25 reports
    no answer of its own: the ATA's OK, read before the line's check, is all that says they were answered.
    Before, the line went back to idle and the core never heard of them: no record (the core's side of these
    events is tests/unit/test_line_states.py, with the real switchboard)."""
    emu, line, events = rig("quectel")
    assert events.next() == LineUp("l1")
    emu.script.unsupported["ATA"] = None  # the modem has not read the ATA yet
    emu.incoming_call("+79161111111")
    assert emu.wait_for("ATA", timeout=5)
    emu.script.reset_call()  # the first caller is gone; the one the late ATA answers is gone again too
    del emu.script.unsupported["ATA"]
    # one write, as the modem sends it: the reader takes it all before the check's AT+CPAS goes out
    emu.send_garbage(b'\r\nNO CARRIER\r\n\r\nRING\r\n\r\n+CLIP: "+79162222222",145,"",0,"",0\r\n'
                     b"\r\nOK\r\n\r\nNO CARRIER\r\n")
    assert events.until(IncomingCall).caller is None  # the first caller: ATA went out before their number came
    assert isinstance(events.until(RemoteHangup), RemoteHangup)
    second = events.until(IncomingCall)
    assert second.caller == "+79162222222"
    assert events.next() == CallAnswered("l1")
    assert isinstance(events.next(), RemoteHangup)
    wait_until(lambda: line.calls.state == cs.IDLE, what="the line free again")
    assert emu.count("ATH") == 0, "nothing was left up to hang up"


@pytest.mark.parametrize("refusal", [None, "ERROR", "+CME ERROR: 3"])
def test_a_quectel_moves_gnss_output_off_its_voice_port_and_one_without_gnss_still_comes_up(rig, refusal):
    """AT+QGPSCFG="outport","none" at set-up (issue 19): an EC25 without GNSS refuses it and still takes calls."""
    gnss_off = 'AT+QGPSCFG="OUTPORT","NONE"'
    emu, line, events = rig("quectel", lambda s: refusal and s.unsupported.update({gnss_off: refusal}))
    assert events.next() == LineUp("l1")
    assert emu.wait_for('AT+QGPSCFG="outport","none"', 5)
    assert emu.script.usb.gnss_outport == ("usbnmea" if refusal else "none")
    assert line.status()["state"] == "up"
    answered_call(emu, line, events)


# --- item 4: call waiting ----------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["sim800", "huawei", "sim7600", "quectel"])
def test_a_waiting_second_caller_is_turned_away_busy_and_the_first_call_goes_on(rig, dialect):
    emu, line, events = rig(dialect)
    assert events.next() == LineUp("l1")
    assert emu.wait_for("AT+CCWA=1", 5), "call waiting presented as +CCWA"
    answered_call(emu, line, events)
    emu.waiting_call(SECOND)
    assert emu.wait_for("AT+CHLD=0", 5), "the waiting caller is rejected to busy"
    rejected = events.until(UnansweredCall)
    assert rejected == UnansweredCall("l1", SECOND, "rejected_busy", rejected.reason)
    emu.send_dtmf("4")  # the first caller is still there, still heard
    assert events.next() == DtmfReceived("l1", "4")
    assert emu.script.rejected == [SECOND]
    assert line.calls.state == "active"
    emu.remote_hangup()
    assert isinstance(events.until(RemoteHangup), RemoteHangup)


def test_call_waiting_off_asks_the_network_to_turn_second_callers_away(rig):
    emu, line, events = rig("sim800", call_waiting="off")
    assert events.next() == LineUp("l1")
    assert emu.wait_for("AT+CCWA=0,0", 5), "call waiting switched off in the network"
    assert line.status()["state"] == "up"


def test_a_bad_call_waiting_setting_is_refused_by_name(rig):
    with pytest.raises(ValueError, match="call_waiting"):
        ModemLine("l1", "loop://", post=lambda e: None, call_waiting="sometimes")


# --- item 5: report forms on a live line ------------------------------------------------------


def test_the_caller_number_comes_from_clcc_when_clip_never_comes(rig):
    emu, line, events = rig("sim800", lambda s: setattr(s, "clip", False))
    assert events.next() == LineUp("l1")
    emu.incoming_call("+79161234567")
    incoming = events.next()
    assert isinstance(incoming, IncomingCall) and incoming.caller is None
    assert events.next() == CallerId("l1", "+79161234567")


def test_registration_reports_with_location_keep_the_line_up(rig):
    emu, line, events = rig("sim800")
    assert events.next() == LineUp("l1")
    emu.report('+CREG: 1,"9110","7E6"', "UNDER-VOLTAGE WARNNING")
    wait_until(lambda: "power" in line.status()["warnings"], what="the warning after the +CREG report read")
    assert line.status()["state"] == "up" and line.status()["registration_stat"] == 1
    with pytest.raises(queue.Empty):
        events.next(timeout=0.2)
    emu.report('+CREG: 3,"9110","7E6"')  # denied: that one must take the line down
    down = events.until(LineDown)
    assert "denied" in down.reason


def test_an_lte_only_module_is_up_on_cereg(rig):
    emu, line, events = rig("sim7600", lambda s: setattr(s.network, "lte_only", True))
    assert events.next() == LineUp("l1")
    assert line.status()["registration_domains"] == {"CREG": 0, "CEREG": 1}
    emu.report("+CREG: 0", '+CEREG: 1,"1A2B","01A2B3C4",7')
    answered_call(emu, line, events)
    assert line.status()["state"] == "up"
    emu.set_registration(3)  # LTE registration denied: now it is down
    assert isinstance(events.until(LineDown), LineDown)


def test_missed_call_ends_the_ringing_call_at_once_and_records_one_never_seen(rig):
    emu, line, events = rig("sim7600", answer_after_rings=3)  # still ringing when the caller gives up
    assert events.next() == LineUp("l1")
    emu.incoming_call("+79161234567")
    assert events.until(IncomingCall).line == "l1"
    emu.script.reset_call()  # the RINGs stop; the module says why
    emu.report("MISSED_CALL: 14:01 +79161234567")
    hangup = events.until(RemoteHangup, timeout=4)  # not the 8 s ring-gone timer
    assert hangup.reason == "caller gave up before the answer"
    emu.report("MISSED_CALL: 02:15PM +79035550000")  # rang while the box was busy starting, never seen
    assert events.until(UnansweredCall, timeout=4) == UnansweredCall(
        "l1", SECOND, "missed", "the modem reported a missed call")


def test_warnings_are_shown_and_a_full_sms_store_is_emptied_of_read_messages(rig):
    emu, line, events = rig("huawei")
    assert events.next() == LineUp("l1")
    emu.report("UNDER-VOLTAGE WARNING", '^SMMEMFULL: "SM"')
    assert emu.wait_for("AT+CMGD=1,1", 5), "read messages deleted"
    wait_until(lambda: "deleted" in line.status()["warnings"].get("sms_full", ""), what="sms_full shown")
    assert line.status()["warnings"]["power"] == "UNDER-VOLTAGE WARNING"


def test_a_stray_dle_before_ring_does_not_lose_the_call(rig):
    emu, line, events = rig("sim800")
    assert events.next() == LineUp("l1")
    emu.send_garbage(b"\r\n\x10RING\r\n")
    assert isinstance(events.next(), IncomingCall)


# --- item 6: V.253 -------------------------------------------------------------------------------


def test_a_landline_is_answered_after_caller_id_not_at_the_first_ring(rig):
    def landline(script) -> None:
        script.ring_period, script.caller_id_delay = 1.0, 0.3

    emu, line, events = rig("v253", landline)
    assert events.next() == LineUp("l1")
    emu.incoming_call("5551234")
    assert events.next().caller is None  # IncomingCall at the first ring
    assert events.next() == CallerId("l1", "5551234")
    assert events.next() == CallAnswered("l1")
    off_hook = emu.received_at[emu.received.index("AT+VLS=1")]
    assert len(emu.ring_sent_at) >= 2 and off_hook > emu.ring_sent_at[1]


@pytest.mark.parametrize(("codes", "reason"), [(b"\x10K", "busy tone"), (b"\x10i", "dial tone"),
                                               (b"\x10q", "quiet"), (b"\x10s", "silence")])
def test_landline_busy_dial_tone_and_silence_codes_end_the_call(rig, codes, reason):
    emu, line, events = rig("v253", lambda s: setattr(s, "ring_period", 0.5))
    assert events.next() == LineUp("l1")
    answered_call(emu, line, events, "5551234")
    emu.send_garbage(b"\x10/\x105\x105\x105\x10~")  # a key held down
    assert events.until(DtmfReceived) == DtmfReceived("l1", "5")
    emu.send_garbage(codes)
    hangup = events.next()
    assert isinstance(hangup, RemoteHangup) and reason in hangup.reason, "one key only, then the hang-up"
    assert emu.wait_for("ATH", 5), "the box goes on-hook"


def test_call_indexes_belong_to_one_call_at_a_time():
    """The next call may get another index (2 while 1 is still being released): it is ours all the same."""
    state, jobs, posted = [cs.ACTIVE], [], []
    news = LineNews("l1", post=posted.append, later=jobs.append, command=lambda *a, **k: Reply("", [], "OK"),
                    calls_state=lambda: state[0])
    assert news.take(LineAnswered(1)) == LineAnswered(1)
    news.take(CallWaiting(SECOND, 2))
    assert news.take(LineHungUp("busy", 2)) is None, "the waiting call's end is not ours"
    assert news.take(LineHungUp("caller hung up", 1)) == LineHungUp("caller hung up", 1)
    state[0] = cs.DIALING  # straight into a call out, no report in between
    assert news.take(LineAnswered(2)) == LineAnswered(2)
    assert news.take(LineHungUp("caller hung up", 2)) == LineHungUp("caller hung up", 2)
    jobs.pop()()  # the rejection job
    assert posted == [UnansweredCall("l1", SECOND, "rejected_busy", posted[0].reason)]


def test_packet_registration_alone_does_not_make_a_line_up_for_calls(rig):
    emu, line, events = rig("sim800")
    assert events.next() == LineUp("l1")
    emu.report('+CGREG: 1,"9110","7E6"', "+CREG: 3")  # data attached, calls denied
    assert "denied" in events.until(LineDown).reason
    assert line.status()["registration_domains"] == {"CREG": 3, "CGREG": 1}


def test_a_modem_that_stops_taking_bytes_takes_its_line_down_and_a_caller_is_answered_once_it_takes_them(rig):
    """A modem holding CTS low (or a USB port whose queue stopped) takes no bytes. Before, the write of the next
    command (here a callback's ATD) blocked the line's worker for good: no DialFailed, the line shown up, every
    later command queued behind it (an ATA from the reader blocked its thread the same way). The write now gives
    up, the line goes down with the reason and recovers once the modem takes bytes again."""
    emu, line, events = rig("sim800")
    assert events.next() == LineUp("l1")
    emu.stop_taking_input()
    line.dial("+79161234567")
    assert isinstance(events.until(DialFailed, timeout=10), DialFailed)
    down = events.until(LineDown, timeout=10)
    assert "write" in down.reason, down
    emu.take_input_again()
    assert events.until(LineUp, timeout=30) == LineUp("l1")
    answered_call(emu, line, events)
