"""Answer first: ATA leaves on the line's own thread straight from the RING, never behind the call's record,
and a daemon killed between the ATA and the record still leaves a record (the line's answer journal).

`hotline run` is a real subprocess on the pty emulator; the database is held locked by the test, as a
slow SD card or a long write would hold it, so the record cannot be written while the caller rings.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import hotline_process  # noqa: E402

from appliance.modem.answer_journal import AnswerJournal  # noqa: E402
from appliance.records.privacy import load_secret  # noqa: E402
from appliance.sim.emulator import ModemEmulator  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402


@pytest.mark.slow
def test_ata_goes_out_while_the_database_is_busy_and_a_sigkill_before_the_record_loses_no_call(tmp_path):
    emulator = ModemEmulator("sim800")
    emulator.start()
    config, data = hotline_process.write_box(tmp_path, {"gsm1": emulator.port})
    hotline = hotline_process.Hotline(config, data, tmp_path / "hotline.log")
    try:
        assert hotline.start() is not None, (tmp_path / "hotline.log").read_text()
        wait_until(lambda: (hotline.status() or {}).get("lines", [{}])[0].get("state") == "up", what="line up")
        database = data / "calls.db"
        holder = sqlite3.connect(database, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # nobody else writes (or reads) until this ends
        try:
            emulator.incoming_call("+79161234567")
            assert emulator.wait_for("ATA", timeout=2), "the caller waited on the database"
            wait_until(lambda: emulator.script.call == "active", what="the call answered")
            # ATA leaves at the RING, before the number is read; the journal gets it as soon as it is, sealed:
            # read with the box's key it holds the number, read as bytes (an attacker with the card) it does not
            journal = data / "answers.journal"
            opened = AnswerJournal(journal, load_secret(data))
            wait_until(lambda: [entry["caller"] for entry in opened.unsettled()] == ["+79161234567"],
                       what="the number noted")
            on_disk = journal.read_bytes()
            assert b"+79161234567" not in on_disk and b"79161234567" not in on_disk, on_disk
            hotline.kill()  # SIGKILL: the record was never written
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        # The modem still holds the call: the next start hangs it up and closes its record.
        assert hotline.start() is not None, (tmp_path / "hotline.log").read_text()
        wait_until(lambda: emulator.script.call == "idle", what="the call left up by the killed daemon hung up")
        with sqlite3.connect(database) as conn:
            calls = conn.execute("SELECT caller, outcome, ended_by, ended_at IS NOT NULL FROM calls").fetchall()
        assert calls == [("+79161234567", "interrupted", "system", 1)]
    finally:
        hotline.close()
        emulator.stop()


def test_a_caller_answered_as_the_daemon_dies_keeps_their_number_in_the_record(tmp_path):
    """The daemon is killed while its ATA is out (a real modem takes hundreds of ms to answer it; a crash, the
    watchdog or the OOM killer may strike then): the next start makes the record from the answer journal, and it
    must name the caller, read with the RING before the kill, or nobody can call back a caller who was answered
    and cut off. The faults bench counts it as an answered call with no record under its number."""
    emulator = ModemEmulator("sim800")
    emulator.start()
    config, data = hotline_process.write_box(tmp_path, {"gsm1": emulator.port})
    hotline = hotline_process.Hotline(config, data, tmp_path / "hotline.log")
    first, second = "+79160000001", "+79160000002"
    try:
        assert hotline.start() is not None, (tmp_path / "hotline.log").read_text()
        wait_until(lambda: (hotline.status() or {}).get("lines", [{}])[0].get("state") == "up", what="line up")
        emulator.incoming_call(first)  # a line's first answer after a start is noted whole: the second one is not
        wait_until(lambda: emulator.script.call == "active", what="the first caller answered")
        emulator.remote_hangup()
        wait_until(lambda: not (hotline.status() or {}).get("calls"), what="the first call over")
        # The status showed no call while the first call's record was still to be closed (seen once at load ~10):
        # a kill then leaves that call to the journal too ('interrupted'), which is not what this test is about.
        with sqlite3.connect(data / "calls.db") as conn:
            wait_until(lambda: conn.execute("SELECT outcome FROM calls").fetchall() == [("left in menu",)],
                       what="the first call's record closed")
        answering = emulator.script.gate("ATA")  # the modem takes its time over the second ATA
        emulator.incoming_call(second)
        assert answering.reached.wait(5)
        journal = AnswerJournal(data / "answers.journal", load_secret(data))
        wait_until(lambda: [e["caller"] for e in journal.unsettled()] == [second], what="the number noted")
        hotline.kill()  # inside the ATA's round trip
        answering.opened.set()
        emulator.remote_hangup()
        assert hotline.start() is not None, (tmp_path / "hotline.log").read_text()
        with sqlite3.connect(data / "calls.db") as conn:
            wait_until(lambda: conn.execute("SELECT count(*) FROM calls").fetchone() == (2,), what="the record made")
            calls = conn.execute("SELECT caller, outcome FROM calls ORDER BY started_at").fetchall()
    finally:
        hotline.close()
        emulator.stop()
    assert calls == [(first, "left in menu"), (second, "interrupted")]


YEARS = 3 * 365 * 86400.0


@pytest.mark.parametrize("clock_set", ["before the next start", "while the next start runs"])
def test_a_caller_answered_before_the_clock_was_set_by_a_box_killed_before_the_record_keeps_a_record(tmp_path,
                                                                                                      clock_set):
    """A Pi boots years in the past (no real-time clock) and answers a caller; it is killed before the record is
    written (the database busy), and NTP sets the clock, before the next start or while it runs. That start makes
    the record from the answer journal: it must be moved to the true time like every record stamped before the
    clock was set, or it stays years old, and retention (30 days here) deletes the record of a caller who was
    answered."""
    emulator = ModemEmulator("sim800")
    emulator.start()
    config, data = hotline_process.write_box(tmp_path, {"gsm1": emulator.port})
    document = tomllib.loads(config.read_text())
    config.write_text(tomli_w.dumps(dict(document, retention={"calls": 30})))
    synced = tmp_path / "timesync-synchronized"

    def box(offset: float) -> hotline_process.Hotline:
        argv = [sys.executable, "-m", "tests.support.shifted_daemon", str(config), str(data), str(synced), str(offset)]
        return hotline_process.Hotline(config, data, tmp_path / "hotline.log", argv=argv)

    booted_in_the_past = box(-YEARS)
    try:
        assert booted_in_the_past.start() is not None, (tmp_path / "hotline.log").read_text()
        wait_until(lambda: (booted_in_the_past.status() or {}).get("lines", [{}])[0].get("state") == "up",
                   what="line up")
        holder = sqlite3.connect(data / "calls.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # the record cannot be written: a slow card, a long write
        try:
            answered_at = time.time()
            emulator.incoming_call("+79161234567")
            assert emulator.wait_for("ATA", timeout=5)
            opened = AnswerJournal(data / "answers.journal", load_secret(data))
            wait_until(lambda: [e["caller"] for e in opened.unsettled()] == ["+79161234567"], what="the answer noted")
            booted_in_the_past.kill()  # SIGKILL before the record was written
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    finally:
        booted_in_the_past.close()
    if clock_set == "before the next start":
        synced.touch()  # NTP has set the clock
    set_right = box(0.0)  # the wall clock reads true now; the box trusts it once `synced` is there
    try:
        assert set_right.start() is not None, (tmp_path / "hotline.log").read_text()
        if clock_set == "while the next start runs":
            synced.touch()
            wait_until(lambda: not any(a["id"] == "clock.unset" for a in (set_right.status() or {}).get("alarms", [])),
                       what="the clock taken as set")
        wait_until(lambda: emulator.script.call == "idle", what="the call left up by the killed daemon hung up")
        with sqlite3.connect(data / "calls.db") as conn:
            wait_until(lambda: conn.execute("SELECT count(*) FROM calls WHERE ended_at IS NULL").fetchone() == (0,),
                       what="the record closed")
            # Retention runs on the loop's first turn after the start; a status is answered on the loop, and the
            # second one only after the turn that answered the first is over: by then retention has run.
            assert set_right.status() and set_right.status()
            calls = conn.execute("SELECT caller, outcome, started_at FROM calls").fetchall()
    finally:
        set_right.close()
        emulator.stop()
    assert [(caller, outcome) for caller, outcome, _ in calls] == [("+79161234567", "interrupted")], calls
    assert abs(calls[0][2] - answered_at) < 60, f"stamped {(answered_at - calls[0][2]) / 86400:.0f} days early"


def test_the_journal_keeps_the_number_that_came_after_the_ata_and_forgets_settled_calls(tmp_path):
    secret = b"k" * 32
    journal = AnswerJournal(tmp_path / "answers.journal", secret, clock=lambda: 100.0)
    journal.open()
    journal.note("a", "gsm1", None)  # ATA went out before +CLIP was read
    journal.note("b", "gsm2", "+7900")
    journal.note("a", "gsm1", "+7911")  # the number, once it came
    journal.settled("b")
    journal.close()  # a crash: "a" never got its record
    on_disk = (tmp_path / "answers.journal").read_bytes()
    # sealed; a's first note, made before the journal had a number to seal, holds none and is in the clear
    assert not any(number in on_disk for number in (b"7900", b"7911")), on_disk
    assert on_disk.startswith(b'{"id": "a", "line": "gsm1", "caller": null'), on_disk
    assert AnswerJournal(tmp_path / "answers.journal", secret).unsettled() == [
        {"id": "a", "line": "gsm1", "caller": "+7911", "at": 100.0}]
    # another box's key opens none of the sealed lines: no number, only a's note made in the clear
    assert AnswerJournal(tmp_path / "answers.journal", b"x" * 32).unsettled() == [
        {"id": "a", "line": "gsm1", "caller": None, "at": 100.0}]
    older = tmp_path / "older.journal"  # left by a crash of software from before the journal was sealed
    older.write_text('{"id": "d", "line": "gsm1", "caller": "+7922", "at": 90.0}\n{"id": "e", "li')
    assert AnswerJournal(older, secret).unsettled() == [{"id": "d", "line": "gsm1", "caller": "+7922", "at": 90.0}]
    again = AnswerJournal(tmp_path / "answers.journal", secret, clock=lambda: 200.0)
    again.open()  # the next start deals with what was left, then starts empty
    again.note("c", "gsm1", None)
    again.note("c", "gsm1", "+7944")  # its number: this journal seals every entry from now on
    again.settled("c")
    assert not (tmp_path / "answers.journal").read_bytes().strip(b"\0")  # no entry left
    # gsm1's next note was sealed ahead when c was settled; the answer adds its id and time, the number after
    again.note("e", "gsm1", None)
    again.note("e", "gsm1", "+7933")
    again.note("f", "gsm1", None)  # sealed whole: nothing was made ahead for this one
    again.close()
    on_disk = (tmp_path / "answers.journal").read_bytes()
    assert not any(number in on_disk for number in (b"7933", b"gsm")), on_disk
    assert AnswerJournal(tmp_path / "answers.journal", secret).unsettled() == [
        {"line": "gsm1", "id": "e", "at": 200.0, "caller": "+7933"},
        {"id": "f", "line": "gsm1", "caller": None, "at": 200.0}]



def test_a_number_read_after_the_calls_record_was_written_leaves_no_entry_to_reopen_it(tmp_path):
    """The caller's number can be journalled after the call's record is written: a +CLIP late, or a line's first
    number, whose seal loads the library. An entry left then would outlive the record, and the next start would
    close the recorded call again as interrupted (seen under load: a caller who left in the menu recorded as
    interrupted)."""
    journal = AnswerJournal(tmp_path / "answers.journal", b"k" * 32, clock=lambda: 100.0)
    journal.open()
    journal.note("a", "gsm1", None)  # just before the ATA
    journal.settled("a")  # its record is in the database
    journal.note("a", "gsm1", "+7911")  # the number, after it
    journal.note("b", "gsm1", None)  # the line's next call is journalled as ever
    journal.close()  # a crash
    assert [entry["id"] for entry in AnswerJournal(tmp_path / "answers.journal", b"k" * 32).unsettled()] == ["b"]

def test_an_ata_that_picks_up_the_next_caller_gives_them_a_call_and_a_record(tmp_path, monkeypatch):
    """A caller hangs up while it rings just as the box's ATA goes out (the journal write before it is slow),
    and the next caller rings in that moment: the ATA reaches the modem and answers them. They are answered,
    so they get the call (menu, record with their number), not a click and silence with no record."""
    from simbox import Box

    from appliance.modem.answer_journal import AnswerJournal

    first, second = "+79160000001", "+79160000002"
    note = AnswerJournal.note
    moments: list[str] = []

    def slow_note(journal: AnswerJournal, call_id: str, line: str, caller: str | None) -> None:
        # The first caller's ATA, between the line's decision to answer and the ATA on the wire (the journal is
        # noted then): the caller's NO CARRIER and the next caller's RING reach the box before its ATA goes out.
        if not moments:
            moments.append(call_id)
            emulator.cancel_call()
            assert emulator.incoming_call(second, busy_wait=0)
        note(journal, call_id, line, caller)

    monkeypatch.setattr(AnswerJournal, "note", slow_note)
    with Box(tmp_path / "data") as box:
        emulator = box.simulation.emulators["gsm1"]
        wait_until(lambda: box.status()["lines"][0]["state"] == "up", what="line up")
        emulator.incoming_call(first)
        wait_until(lambda: (box.line_call("gsm1") or {}).get("caller") == second, what="the second caller's call")
        assert emulator.script.call == "active", "the second caller, answered, was hung up on"
        emulator.remote_hangup()
        wait_until(lambda: box.line_call("gsm1") is None, what="the call over")
        with sqlite3.connect(box.daemon.data_dir / "calls.db") as conn:
            wait_until(lambda: conn.execute("SELECT count(*) FROM calls WHERE ended_at IS NULL").fetchone() == (0,),
                       what="records closed")
            records = conn.execute("SELECT caller, answered_at IS NOT NULL, outcome IS NOT NULL FROM calls "
                                   "ORDER BY started_at").fetchall()
    assert emulator.script.call == "idle"
    assert records == [(first, 0, 1), (second, 1, 1)]


def test_a_late_ata_whose_no_carrier_was_the_callers_and_that_answered_the_next_caller_gives_them_a_call(tmp_path):
    """The modem reads the box's ATA only after the caller left (their NO CARRIER ends the ATA for the box)
    and the next caller rang: the ATA's own OK comes late and answers the next caller, who gets the call."""
    from simbox import Box

    first, second = "+79160000001", "+79160000002"
    with Box(tmp_path / "data") as box:
        emulator = box.simulation.emulators["gsm1"]
        script = emulator.script
        command = script.command

        def late_ata(line: str) -> None:
            if line.upper() == "ATA" and script.caller == first:
                script.remote_hangup()  # NO CARRIER, read by the box as the ATA's result
                script.incoming_call(second, busy_wait=0)
            command(line)

        script.command = late_ata
        wait_until(lambda: box.status()["lines"][0]["state"] == "up", what="line up")
        emulator.incoming_call(first)
        wait_until(lambda: (box.line_call("gsm1") or {}).get("caller") == second, what="the second caller's call")
        assert script.call == "active"
        emulator.remote_hangup()
        wait_until(lambda: box.line_call("gsm1") is None, what="the call over")
        with sqlite3.connect(box.daemon.data_dir / "calls.db") as conn:
            wait_until(lambda: conn.execute("SELECT count(*) FROM calls WHERE ended_at IS NULL").fetchone() == (0,),
                       what="records closed")
            records = conn.execute("SELECT caller, answered_at IS NOT NULL, outcome IS NOT NULL FROM calls "
                                   "ORDER BY started_at").fetchall()
    assert records == [(first, 0, 1), (second, 1, 1)]


def test_a_late_ata_that_answers_a_caller_whose_ring_already_started_a_call_gives_them_one_record(tmp_path):
    """The caller hangs up as the box's ATA goes out, and their NO CARRIER is read as the ATA's reply; the modem
    reads the ATA only after the next caller has rung for a while (their RING a call of its own, with its own
    ATA queued). The late ATA answers them, and its OK comes while their own ATA waits: they are answered once,
    and have one record, not a 'missed' one and a second call the box picks up afterwards."""
    from simbox import Box

    first, second = "+79160000001", "+79160000002"
    with Box(tmp_path / "data") as box:
        emulator = box.simulation.emulators["gsm1"]
        script = emulator.script
        command = script.command
        line = box.daemon.lines["gsm1"]

        def ata_read_late(text: str) -> None:
            if text.upper() == "ATA" and script.caller == first:
                script.remote_hangup()  # NO CARRIER: the box takes it for the ATA's reply
                threading.Timer(1.2, script.incoming_call, args=(second, 0)).start()  # past the RING gap
                wait_until(lambda: second in (line.calls._caller, line.calls._early_caller),
                           what="the box has read the second caller's RING and number")
            command(text)  # the modem reads the first ATA only now: it answers the second caller

        script.command = ata_read_late
        wait_until(lambda: box.status()["lines"][0]["state"] == "up", what="line up")
        emulator.incoming_call(first)
        wait_until(lambda: script.call == "active", what="the second caller answered")
        wait_until(lambda: (box.line_call("gsm1") or {}).get("state") not in (None, "ringing"),
                   what="the second caller's call in the menu")
        assert (box.line_call("gsm1") or {}).get("caller") == second
        emulator.remote_hangup()
        wait_until(lambda: box.line_call("gsm1") is None, what="the call over")
        with sqlite3.connect(box.daemon.data_dir / "calls.db") as conn:
            wait_until(lambda: conn.execute("SELECT count(*) FROM calls WHERE ended_at IS NULL").fetchone() == (0,),
                       what="records closed")
            records = conn.execute("SELECT caller, answered_at IS NOT NULL FROM calls ORDER BY started_at").fetchall()
    assert script.call == "idle"
    assert records == [(first, 0), (second, 1)]


def test_a_call_that_drops_as_the_ata_is_answered_is_recorded_answered_and_the_next_caller_is_answered(tmp_path):
    """The soak's third form: the modem answers (OK) and the network drops the call at once; the line's reader
    reads the drop before the worker, which sent the ATA, has taken the OK. Before, the record said 'missed',
    the line hung up (ATH) on the next caller while they rang, and that caller's number went onto the record
    of the caller after them. Now the OK moves the call's state as it is read."""
    from simbox import Box

    first, second = "+79160000001", "+79160000002"
    with Box(tmp_path / "data") as box:
        emulator = box.simulation.emulators["gsm1"]
        script = emulator.script
        command = script.command
        line = box.daemon.lines["gsm1"]

        def answered_then_dropped(text: str) -> None:
            command(text)
            if text.upper() == "ATA" and script.caller == first:
                script.remote_hangup(dropped=True)  # +CLCC: 1,1,6 right behind the OK

        ata = line.calls.answering._command  # the worker's ATA (and the check after it)

        def slow_worker(text: str, **kw: object):
            reply = ata(text, **kw)
            if text == "ATA" and script.caller in (first, None):
                wait_until(lambda: line.calls.state != "answering", what="the drop read")  # before the worker goes on
            return reply

        script.command = answered_then_dropped
        line.calls.answering._command = slow_worker
        wait_until(lambda: box.status()["lines"][0]["state"] == "up", what="line up")
        emulator.incoming_call(first)
        wait_until(lambda: box.line_call("gsm1") is None and script.call == "idle", what="the first call over")
        assert emulator.incoming_call(second, busy_wait=0)  # within a second of the first caller's ring
        wait_until(lambda: (box.line_call("gsm1") or {}).get("caller") == second, what="the second caller's call")
        assert script.call == "active", "the second caller was hung up on while it rang"
        emulator.remote_hangup()
        wait_until(lambda: box.line_call("gsm1") is None, what="the call over")
        with sqlite3.connect(box.daemon.data_dir / "calls.db") as conn:
            wait_until(lambda: conn.execute("SELECT count(*) FROM calls WHERE ended_at IS NULL").fetchone() == (0,),
                       what="records closed")
            records = conn.execute("SELECT caller, answered_at IS NOT NULL FROM calls ORDER BY started_at").fetchall()
    assert records == [(first, 1), (second, 1)]
