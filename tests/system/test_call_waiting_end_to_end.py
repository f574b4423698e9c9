"""A second caller while a call is up, through the real daemon: turned away busy, recorded, the first call untouched.

The modem is the SIM800 emulator on a pseudo-terminal, the record lands in a real SQLite file.
"""

from __future__ import annotations

import sqlite3

import pytest

from tests.support.status import loop_status
from tests.support.waiting import wait_until

FIRST, SECOND = "+79161234567", "+79035550000"


@pytest.fixture
def box(start_box, tmp_path):
    daemon, simulation = start_box()
    return daemon, simulation, tmp_path / "data" / "calls.db"


def rows(database) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT caller, outcome, ended_at IS NOT NULL FROM calls ORDER BY started_at").fetchall()


def test_a_waiting_caller_is_recorded_as_rejected_busy_and_the_call_in_progress_goes_on(box):
    daemon, simulation, database = box
    emulator = simulation.emulators["gsm1"]
    emulator.incoming_call(FIRST)
    assert emulator.wait_for("ATA", timeout=5)
    wait_until(lambda: loop_status(daemon)["lines"][0]["modem"]["call"] == "active", what="call 1 answered")
    emulator.waiting_call(SECOND)
    assert emulator.wait_for("AT+CHLD=0", timeout=5)
    wait_until(lambda: len(rows(database)) == 2, what="the rejected attempt recorded")
    assert rows(database) == [(FIRST, None, 0), (SECOND, "rejected_busy", 1)]
    assert loop_status(daemon)["lines"][0]["modem"]["call"] == "active"
    emulator.remote_hangup()
    wait_until(lambda: rows(database)[0][2] == 1, what="call 1 ended by its caller")
    assert rows(database)[0][1] != "rejected_busy"
