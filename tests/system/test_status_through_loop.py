"""The status a test asks through the daemon's loop (tests/support/status.py) is the one the web page sees:
answered between two events, never in the middle of one, so a call it no longer shows has its record."""

from __future__ import annotations

import threading

from tests.support.records import finished_record
from tests.support.status import loop_status
from tests.support.waiting import wait_until

HELD = 0.3  # long enough for a status read off the loop to come back; one through the loop cannot while held


def test_a_call_the_loop_status_no_longer_shows_has_its_record(start_box, monkeypatch):
    daemon, simulation = start_box()
    emulator = simulation.emulators["gsm1"]
    emulator.incoming_call("+79161112233")
    call_id = wait_until(lambda: loop_status(daemon)["calls"], what="the call")[0]["id"]
    # The loop is held inside the hang-up's actions, just before it writes the call's end.
    writing, release = threading.Event(), threading.Event()
    call_ended = daemon.store.call_ended

    def held_write(record):
        writing.set()
        release.wait(30)
        call_ended(record)

    monkeypatch.setattr(daemon.store, "call_ended", held_write)
    emulator.remote_hangup()
    assert writing.wait(10), "the loop never wrote the call's end"
    # Read from this thread, the core already shows the line free while the record is not yet written:
    # the race the tests used to patch by waiting for the record.
    assert not daemon.status()["calls"] and finished_record(daemon.data_dir, call_id) is None
    seen: list[tuple[list, dict | None]] = []
    asking = threading.Thread(target=lambda: seen.append(
        (loop_status(daemon)["calls"], finished_record(daemon.data_dir, call_id))))
    asking.start()
    asking.join(HELD)
    assert not seen, "the status was answered in the middle of the loop's handling of an event"
    release.set()
    asking.join(15)
    (calls, record), = seen
    assert calls == [] and record is not None and record["id"] == call_id
