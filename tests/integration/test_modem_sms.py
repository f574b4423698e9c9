"""SMS: the GSM-7 / UCS-2 / PDU codec, and sending and receiving through a line on the emulator's pty."""

from __future__ import annotations

import queue

import pytest

from appliance.core.events import SmsReceived, SmsResult
from appliance.modem import gsm7, sms_pdu
from appliance.modem.line import ModemLine
from appliance.sim.emulator import ModemEmulator
from tests.support.modem_kit import Events

CYRILLIC = "Здравствуйте! Вы позвонили на горячую линию. Оператор перезвонит вам в течение часа. "


# --- the codec -----------------------------------------------------------------------------


def test_gsm7_packing_matches_the_classic_example():
    assert gsm7.pack(gsm7.to_septets("hellohello")).hex().upper() == "E8329BFD4697D9EC37"
    assert gsm7.from_septets(gsm7.unpack(bytes.fromhex("E8329BFD4697D9EC37"), 10)) == "hellohello"


def test_extension_characters_take_two_septets_and_come_back():
    text = "{[€]}|~^\\ £@¥"
    assert len(gsm7.to_septets(text)) == len(text) + 9
    assert gsm7.from_septets(gsm7.to_septets(text)) == text
    assert gsm7.to_septets("Привет") is None


@pytest.mark.parametrize(("text", "encoding", "sizes"), [
    ("a" * 160, "gsm7", [160]),
    ("a" * 161, "gsm7", [153, 8]),
    ("€" * 80, "gsm7", [80]),  # 160 septets: one part
    ("a" * 152 + "€" + "b" * 7, "gsm7", [152, 8]),  # the escape pair is not cut in half
    ("Ж" * 70, "ucs2", [70]),
    ("Ж" * 71, "ucs2", [67, 4]),
    ("😀" * 40, "ucs2", [33, 7]),  # surrogate pairs stay whole
])
def test_split_into_parts_at_the_standard_sizes(text, encoding, sizes):
    got_encoding, parts = sms_pdu.split(text)
    assert got_encoding == encoding
    assert [len(p) for p in parts] == sizes
    assert "".join(parts) == text


@pytest.mark.parametrize("text", ["Hello {all} at 10€", CYRILLIC * 3, "x" * 400])
def test_submit_pdus_decode_back_and_agree_with_python_gsmmodem(text):
    pdus = sms_pdu.submit_pdus("+79161234567", text, reference=42)
    decoded = [sms_pdu.decode(p.hex) for p in pdus]
    assert "".join(m.text for m in decoded) == text
    assert all(m.number == "+79161234567" for m in decoded)
    if len(pdus) > 1:
        assert [m.part for m in decoded] == [(42, len(pdus), i) for i in range(1, len(pdus) + 1)]
    peer = pytest.importorskip("gsmmodem.pdu")  # an independent decoder, when the peer is installed
    theirs = [peer.decodeSmsPdu(p.hex) for p in pdus]
    assert "".join(t["text"] for t in theirs) == text
    assert all(p.length == len(bytes.fromhex(p.hex)) - 1 for p in pdus)  # AT+CMGS=<length> excludes the SMSC


def test_a_deliver_pdu_from_the_network_is_read():
    message = sms_pdu.decode("07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37")
    assert message.text == "hellohello"
    assert message.number == "27838890001"


def test_a_broken_pdu_is_a_clear_error():
    with pytest.raises(ValueError, match="not an SMS PDU"):
        sms_pdu.decode("0791ZZ")


# --- sending ---------------------------------------------------------------------------------


def test_a_short_latin_text_goes_in_text_mode_gsm(line, emulator, events):
    line.send_sms("+79161234567", "Your callback is booked for 15:00")
    assert events.until(SmsResult) == SmsResult("gsm1", "+79161234567", True, None)
    assert emulator.script.messages.sent_sms == [("+79161234567", "Your callback is booked for 15:00", "GSM")]
    assert emulator.wait_for("AT+CSMP=17,167,0,0", 1)
    assert line.status()["sms_sent"] == 1


def test_a_short_cyrillic_text_goes_in_text_mode_ucs2(line, emulator, events):
    line.send_sms("+79161234567", "Оператор перезвонит")
    assert events.until(SmsResult).ok
    number, text, charset = emulator.script.messages.sent_sms[0]
    assert charset == "UCS2"
    assert gsm7.from_ucs2_hex(number) == "+79161234567"
    assert gsm7.from_ucs2_hex(text) == "Оператор перезвонит"
    assert emulator.wait_for("AT+CSMP=17,167,0,8", 1)
    assert emulator.script.messages.charset == "GSM"  # put back for USSD and the next message


def test_a_long_cyrillic_text_goes_as_concatenated_pdus(line, emulator, events):
    text = CYRILLIC * 3
    line.send_sms("+79161234567", text)
    assert events.until(SmsResult).ok
    parts = [sms_pdu.decode(p) for p in emulator.script.messages.sent_pdus]
    assert len(parts) == 4
    assert {p.part[0] for p in parts} == {parts[0].part[0]}  # one reference for the whole message
    assert [p.part[1:] for p in parts] == [(4, 1), (4, 2), (4, 3), (4, 4)]
    assert "".join(p.text for p in parts) == text
    assert emulator.script.messages.sms_mode == "text"  # text mode again afterwards


def test_a_text_that_text_mode_cannot_carry_goes_as_one_pdu(line, emulator, events):
    line.send_sms("5551234", "Mail us at help@hotline.org, {ticket} costs 0 €")
    assert events.until(SmsResult).ok
    assert emulator.script.messages.sent_sms == []
    [message] = [sms_pdu.decode(p) for p in emulator.script.messages.sent_pdus]
    assert message.text == "Mail us at help@hotline.org, {ticket} costs 0 €"
    assert message.number == "5551234" and message.part is None


def test_a_refused_message_is_reported_with_the_modems_reason(line, emulator, events):
    emulator.script.messages.sms_error = "+CMS ERROR: 38"
    line.send_sms("+79161234567", "hello")
    result = events.until(SmsResult)
    assert not result.ok and "+CMS ERROR: 38" in result.reason
    assert line.status()["state"] == "up"


@pytest.mark.parametrize(("number", "text", "bad"), [
    ("call me", "hello", "number"), ("", "hello", "number"), ("+7916", "", "text"), ("+7916", "x" * 40000, "long"),
])
def test_bad_input_is_refused_by_name_and_nothing_is_sent(line, emulator, number, text, bad):
    with pytest.raises(ValueError, match=bad):
        line.send_sms(number, text)
    assert emulator.count("AT+CMGS") == 0


def test_an_analogue_line_says_it_cannot_send_sms():
    emu = ModemEmulator("v253")
    emu.start()
    events = Events()
    line = ModemLine("pstn", emu.port, post=events.q.put, dialect="v253")
    try:
        line.start()
        line.send_sms("5551234", "hello")
        result = events.until(SmsResult)
        assert not result.ok and "V.253" in result.reason
    finally:
        line.close()
        emu.stop()


# --- receiving -------------------------------------------------------------------------------


def test_an_arriving_sms_is_read_posted_and_deleted(line, emulator, events):
    emulator.deliver_sms("+79161234567", "Please call me back {urgent}")
    sms = events.until(SmsReceived)
    assert (sms.line, sms.sender, sms.text) == ("gsm1", "+79161234567", "Please call me back {urgent}")
    assert sms.received_at > 1.7e9  # the centre's time stamp, in seconds since the epoch
    assert emulator.wait_for("AT+CMGD=", 2)
    assert emulator.script.messages.inbox == {}


def test_a_long_cyrillic_sms_in_parts_is_posted_once_whole(line, emulator, events):
    emulator.deliver_sms("+79161234567", CYRILLIC * 2)
    sms = events.until(SmsReceived)
    assert sms.text == CYRILLIC * 2
    assert line.status()["sms_received"] == 1
    with pytest.raises(queue.Empty):
        events.until(SmsReceived, timeout=0.5)


def test_unread_messages_stored_while_the_box_was_off_are_read_at_start(emulator, events):
    emulator.deliver_sms("+79160000001", "first", notify=False)
    emulator.deliver_sms("+79160000002", "Второе сообщение", notify=False)
    line = ModemLine("gsm1", emulator.port, post=events.q.put, dialect="sim800")
    try:
        line.start()
        got = [events.until(SmsReceived), events.until(SmsReceived)]
        assert [(s.sender, s.text) for s in got] == [("+79160000001", "first"),
                                                     ("+79160000002", "Второе сообщение")]
        assert emulator.script.messages.inbox == {}
    finally:
        line.close()
