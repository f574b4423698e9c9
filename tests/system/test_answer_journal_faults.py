"""The answer journal failing (its seal's library missing, the seal raising) costs no call its record.

The journal only covers a crash between the ATA and the record (appliance/modem/answer_journal.py): when it
cannot do its part, the calls still go on and land in calls.db as usual, and the log says once what failed.
The real daemon on the SIM800 emulator's pty, a real calls.db; the fault is put into the seal it uses.
"""

from __future__ import annotations

import logging
import sqlite3
import sys

import pytest

from appliance.modem.answer_journal import AnswerJournal
from appliance.records import sealed
from tests.support.waiting import wait_until

CALLERS = ("+79161234567", "+79035550000", "+79260001122")


def records(database) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT caller, ended_at IS NOT NULL FROM calls ORDER BY started_at").fetchall()


def no_library(monkeypatch) -> None:
    """A venv without pycryptodomex (a stale install): the first seal's import fails."""
    monkeypatch.setattr(sealed, "_modules", None)
    monkeypatch.setitem(sys.modules, "Cryptodome", None)


def seal_raises(monkeypatch) -> None:
    def broken(*_args, **_kwargs) -> bytes:
        raise ValueError("the seal broke")

    monkeypatch.setattr(sealed, "gcm_seal", broken)


def journal_raises(monkeypatch) -> None:
    """Anything else the journal may raise (a bug, a file it cannot write in a way not foreseen)."""
    def broken(*_args, **_kwargs) -> None:
        raise RuntimeError("the journal broke")

    monkeypatch.setattr(AnswerJournal, "note", broken)


# what the log says, once, for each fault
NO_SEAL = ("answer journal", "cannot seal", "without the caller's number")
FAILED = ("answer journal failed", "calls are answered and recorded as usual")


@pytest.mark.parametrize(("fault", "said"), [(no_library, NO_SEAL), (seal_raises, NO_SEAL), (journal_raises, FAILED)])
def test_calls_are_answered_and_recorded_while_the_journal_fails_and_the_log_says_so_once(
        start_box, tmp_path, monkeypatch, caplog, fault, said):
    fault(monkeypatch)
    caplog.set_level(logging.WARNING)
    daemon, simulation = start_box()
    database = tmp_path / "data" / "calls.db"
    emulator = simulation.emulators["gsm1"]
    for n, caller in enumerate(CALLERS, 1):
        emulator.incoming_call(caller)
        assert emulator.wait_count("ATA", n, timeout=10), f"call {n} was not answered"
        wait_until(lambda n=n: len(records(database)) == n, what=f"call {n}'s record")
        emulator.remote_hangup()
        wait_until(lambda n=n: records(database)[n - 1][1], what=f"call {n}'s end recorded")
    assert records(database) == [(caller, 1) for caller in CALLERS]
    logged = [r.getMessage() for r in caplog.records if "answer journal" in r.getMessage()]
    assert len(logged) == 1, logged
    assert all(words in logged[0] for words in said), logged


def test_a_journal_that_cannot_seal_still_leaves_each_answer_for_a_crash_and_never_a_number_in_the_clear(
        tmp_path, monkeypatch):
    seal_raises(monkeypatch)
    journal = AnswerJournal(tmp_path / "answers.journal", b"k" * 32, clock=lambda: 1000.0)
    journal.open()
    journal.note("call-1", "gsm1", None)
    journal.note("call-1", "gsm1", CALLERS[0])  # the number after the ATA: cannot be sealed
    journal.note("call-2", "gsm2", CALLERS[1])  # known before the ATA
    journal.close()  # the daemon dies here: neither record was written
    found = AnswerJournal(tmp_path / "answers.journal", b"k" * 32).unsettled()
    assert [(e["id"], e["line"], e.get("caller")) for e in found] == [("call-1", "gsm1", None),
                                                                       ("call-2", "gsm2", None)]
    on_disk = (tmp_path / "answers.journal").read_bytes()
    assert b"9161234567" not in on_disk and b"9035550000" not in on_disk
