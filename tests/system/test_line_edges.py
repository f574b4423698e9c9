"""The line's edges met from outside: a modem that fails under a call or hangs while idle, through the pty
emulator (and the real daemon where the record matters)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from appliance.core.events import CallAnswered, CallerId, LineDown, LineUp
from appliance.modem.line import ModemLine
from appliance.sim.emulator import ModemEmulator
from tests.support.modem_kit import Events, is_new_call
from tests.support.status import loop_status
from tests.support.waiting import wait_until


@pytest.fixture
def box(start_box, tmp_path):
    daemon, simulation = start_box()
    return daemon, simulation.emulators["gsm1"], tmp_path / "data" / "calls.db"


def rows(database, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


def test_a_call_cut_by_the_line_is_recorded_as_such_and_hung_up_once_the_line_returns(box):
    daemon, emulator, database = box
    emulator.incoming_call("+79161234567")
    assert emulator.wait_for("ATA", timeout=5)
    wait_until(lambda: emulator.script.call == "active", what="the call answered")
    # A brown-out the firmware survives: it says so, the line re-initialises, the call is still up in it.
    emulator.send_garbage(b"\r\nUNDER-VOLTAGE POWER DOWN\r\n")
    ended = wait_until(lambda: rows(database, "SELECT outcome, ended_by, reason FROM calls WHERE ended_at IS NOT NULL"),
                       what="the call's record closed")
    assert ended == [("failed", "line", "the modem reported under-voltage power down")]
    assert not (database.parent / "answers.journal").read_bytes().strip(b"\0")  # settled once the record was written
    # Re-initialised, the line asks the modem for calls still up and hangs this one up: no caller is left
    # in silence on a call the box has closed.
    wait_until(lambda: emulator.script.call == "idle", what="the stranded call hung up")
    assert emulator.count("AT+CLCC") >= 1 and emulator.count("ATH") == 1
    wait_until(lambda: loop_status(daemon)["lines"][0]["state"] == "up", what="the line back up")


@pytest.mark.slow
def test_a_modem_hung_while_idle_is_noticed_and_a_caller_ringing_when_it_returns_is_answered():
    emulator = ModemEmulator("sim800")
    emulator.start()
    events = Events()
    line = ModemLine("gsm1", emulator.port, post=events.post, dialect="sim800")
    line.start()
    try:
        assert events.next() == LineUp("gsm1")
        emulator.hung = True
        hung_at = time.monotonic()
        down = events.next(timeout=20)
        assert isinstance(down, LineDown) and "stopped answering" in down.reason
        assert time.monotonic() - hung_at < 15, "a hung modem is noticed within 15 s while idle"
        emulator.incoming_call("+7900")  # rings while the modem is still hung: nobody can answer yet
        time.sleep(1)  # the behaviour: the modem stays hung through a second of ringing
        emulator.hung = False
        assert events.next(timeout=20) == LineUp("gsm1")
        call = events.next(timeout=10)
        assert is_new_call(call, "gsm1", call.caller)
        if call.caller is None:  # +CLIP came after the RING that started the call
            assert events.next() == CallerId("gsm1", "+7900")
        else:  # +CLIP of the ring before (while the line was re-initialising) named the caller
            assert call.caller == "+7900"
        assert events.next() == CallAnswered("gsm1")
        assert emulator.script.call == "active"
    finally:
        line.close()
        emulator.stop()


def test_a_line_down_for_lost_registration_hangs_up_the_call_it_closes():
    emulator = ModemEmulator("sim800")
    emulator.start()
    events = Events()
    line = ModemLine("gsm1", emulator.port, post=events.post, dialect="sim800")
    line.start()
    try:
        assert events.next() == LineUp("gsm1")
        emulator.incoming_call("+7900")
        assert events.until(CallAnswered) == CallAnswered("gsm1")
        emulator.set_registration(3)  # denied: the core closes the call with the line
        assert isinstance(events.until(LineDown), LineDown)
        assert emulator.wait_for("ATH", 5), "the call the box closed is hung up, not left in silence"
        wait_until(lambda: emulator.script.call == "idle", what="the call hung up")
    finally:
        line.close()
        emulator.stop()
