"""ModemLine against the emulator on a real pty: the events the core sees for a call's life."""

from __future__ import annotations

import queue
import re

import pytest

from appliance.core.events import (
    AnswerFailed,
    AnswerRetry,
    CallAnswered,
    CallerId,
    DtmfReceived,
    LineDown,
    LineUp,
    RemoteHangup,
)
from appliance.modem.line import ModemLine
from tests.support.modem_kit import is_new_call
from tests.support.waiting import wait_until


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
    assert is_new_call(events.next(), "gsm1")
    assert events.next() == CallerId("gsm1", "+79161234567")
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
    assert is_new_call(events.next(), "gsm1")
    assert events.next() == CallerId("gsm1", None)
    assert line.status()["state"] == "up"


def test_our_hangup_is_not_reported_as_the_callers(line, emulator, events):
    emulator.incoming_call("+100")
    events.until(CallerId)
    events.until(CallAnswered)
    line.hangup()
    assert emulator.wait_for("ATH", 2)
    emulator.incoming_call("+200")  # the next event is the next call, not a stray RemoteHangup
    assert is_new_call(events.next(), "gsm1")


def test_call_dropped_without_no_carrier_is_still_seen(line, emulator, events):
    emulator.incoming_call("+79161234567")
    events.until(CallerId)
    events.until(CallAnswered)
    emulator.drop_call()  # only +CLCC: ...,6,... tells
    assert isinstance(events.next(), RemoteHangup)


def test_a_refused_ata_is_retried_on_the_next_ring_and_the_caller_is_answered(line, emulator, events):
    emulator.fail_answer("+CME ERROR: 3")
    emulator.incoming_call("+7900")
    retry = events.until(AnswerRetry)
    assert retry.attempt == 1 and "+CME ERROR: 3" in retry.reason
    emulator.fail_answer(None)  # the modem takes the next ATA, on the caller's next RING
    assert events.until(CallAnswered, timeout=10) == CallAnswered("gsm1")
    assert emulator.script.call == "active" and emulator.count("ATA") == 2
    assert line.status()["state"] == "up"


def test_an_ata_refused_every_time_rejects_the_call_instead_of_leaving_it_ringing(line, emulator, events):
    emulator.fail_answer("ERROR")
    emulator.incoming_call("+7900")
    assert events.until(AnswerRetry).attempt == 1
    assert events.until(AnswerRetry, timeout=10).attempt == 2
    failed = events.until(AnswerFailed, timeout=10)
    assert "refused to answer: ERROR (3 times; the call was rejected)" in failed.reason
    assert emulator.wait_for("ATH", 5)
    assert emulator.script.call == "idle" and emulator.count("ATA") == 3


def test_answer_never_blocks_the_caller_even_when_the_modem_hangs(line, emulator, events):
    emulator.hung = True
    line.answer_timeout = 2.0
    emulator.incoming_call("+7900")
    assert is_new_call(events.next(), "gsm1")
    assert events.next() == CallerId("gsm1", "+7900")
    failed = events.next(timeout=30)
    assert isinstance(failed, AnswerFailed) and "did not answer" in failed.reason
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
        emulator.incoming_call("+7900")  # a line that is down answers nobody (its modem cannot)
        with pytest.raises(queue.Empty):
            events.next(timeout=0.5)
    finally:
        ln.close()


def test_close_is_idempotent(line):
    line.close()
    line.close()


def test_ata_leaves_from_the_reader_at_the_ring_without_waiting_for_the_worker(line, emulator, events):
    """The answer does not hop to the line's worker first: with the worker held by a job (one that sends no
    command), the caller is still answered at once, and the call's events follow once the worker is free."""
    import threading

    release = threading.Event()
    line.submit(lambda command: release.wait(10))  # the worker is busy, the AT channel free
    emulator.incoming_call("+79161234567")
    try:
        assert emulator.wait_for("ATA", 2), "ATA waited for the worker"
        assert emulator.script.call == "active"
    finally:
        release.set()
    assert is_new_call(events.next(), "gsm1")
    assert events.next() == CallerId("gsm1", "+79161234567")
    assert events.next() == CallAnswered("gsm1")


def test_ata_leaves_before_the_read_that_carried_the_ring_is_parsed(line, emulator, events):
    """The line answers from the read that begins with RING, before its lines are parsed as reports: with the
    report parser held at the first RING until the ATA reaches the modem (at most 2 s, less than the next
    ring), the caller is answered while it is held, and the RING, then read as a report, is that same ring
    (one call, one ATA)."""
    dialect, held = line._dialect, []
    parse = dialect.parse

    def held_parse(token):
        if token == "RING" and not held:
            held.append(emulator.wait_for("ATA", 2))
        return parse(token)

    dialect.parse = held_parse
    try:
        emulator.incoming_call("+79161234567")
        wait_until(lambda: held, 5, "the first RING parsed")
        assert held == [True], "the ATA waited for the RING to be parsed"
        assert is_new_call(events.next(), "gsm1")
        assert events.next() == CallerId("gsm1", "+79161234567")
        assert events.next() == CallAnswered("gsm1")
        assert emulator.count("ATA") == 1
    finally:
        dialect.parse = parse


def test_the_callers_number_is_journalled_as_read_while_the_modem_still_answers(emulator, events, monkeypatch):
    """The ATA written at the RING, the reader gives way (to the modem's reply, or for 5 ms), then reads the +CLIP
    that came with the RING: the number goes into the answer journal then, while the modem is still answering (a
    real one takes hundreds of ms), not once its reply comes: a crash meanwhile left the caller's record without
    the number (docs/proof.md, issue 18, eighth session: faults). The grace the worker gives a slow reply before
    it journals the number (NUMBER_GRACE) is put out of reach here, so only the read can have noted it."""
    from appliance.modem import answer

    monkeypatch.setattr(answer, "NUMBER_GRACE", 3600.0)
    noted: list[tuple[str, str | None]] = []
    line = ModemLine("gsm1", emulator.port, post=events.post, dialect="sim800",
                     note_answer=lambda call_id, line_id, caller: noted.append((call_id, caller)))
    line.start()
    try:
        assert events.next() == LineUp("gsm1")
        answering = emulator.script.gate("ATA")  # the modem takes its time over the ATA
        emulator.incoming_call("+79161234567")
        assert answering.reached.wait(5)
        wait_until(lambda: len(noted) == 2, 5, "the number noted while the modem answers")
        assert noted[0][1] is None and noted[1][1] == "+79161234567" and noted[0][0] == noted[1][0]
        assert events.q.empty(), "the core heard of the call before the modem answered"
        answering.opened.set()
        assert is_new_call(events.next(), "gsm1")
        assert events.next() == CallerId("gsm1", "+79161234567")
        assert events.next() == CallAnswered("gsm1")
    finally:
        line.close()
