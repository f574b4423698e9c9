"""The call store: whole calls with their timelines, in few transactions, and what operators add to them."""

from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils

from appliance.records.privacy import Privacy
from appliance.records.store import migrations
from appliance.records.store.calls import CallStore
from appliance.records.store.queries import CallLog
from tests.support.calls import NUMBER, record, write


@pytest.fixture
def store(tmp_path):
    store = CallStore(tmp_path / "calls.db")
    yield store
    store.close()


def test_a_whole_call_with_its_timeline_costs_two_transactions(store):
    commits = []
    store.db.conn.set_trace_callback(lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
    rec = record("c1", 1000.0, survey=5, voicemail="voicemail/c1.flac", callback=True)
    store.call_started(rec["id"], rec["line"], rec["caller"], rec["started_at"])
    store.call_ended(rec)
    assert len(commits) == 2  # one when the call starts, one with the whole timeline and survey
    store.voicemail_saved("c1", "voicemail/c1.flac", 25.0, NUMBER, at=1100.0)
    store.callback_update("cb-c1", "c1", NUMBER, "waiting", 0, None, at=1100.0)
    store.db.conn.set_trace_callback(None)
    assert len(commits) == 4  # the message and the callback request: one each
    events = store.db.execute("SELECT event FROM call_events WHERE call_id = 'c1' ORDER BY at").fetchall()
    assert [e[0] for e in events] == [e["event"] for e in sorted(rec["events"], key=lambda e: e["at"])]
    assert store.db.execute("SELECT COUNT(*) FROM voicemails").fetchone()[0] == 1
    assert store.db.execute("SELECT status FROM callbacks").fetchone()[0] == "pending"
    assert store.db.execute("SELECT score FROM surveys").fetchone()[0] == 5


def test_queue_milestones_come_from_the_timeline(store):
    write(store, record("c1", 1000.0, wait=12.0, talk=90.0, survey=4))
    call = CallLog(store.path).call("c1")
    assert call["queued_at"] == 1004.0 and call["connected_at"] == 1016.0
    assert call["wait_seconds"] == 12.0 and call["talk_seconds"] == 90.0
    assert call["survey_score"] == 4
    assert [e["event"] for e in call["events"]][:4] == ["ANSWERED", "KEY", "ENTERQUEUE", "RINGNOANSWER"]
    assert call["events"][3]["handset"] == "h1"


def test_a_record_without_a_timeline_still_stores_and_keeps_unknown_fields(store):
    store.call_started("c1", "gsm1", NUMBER, 1000.0)
    store.call_ended({"id": "c1", "line": "gsm1", "caller": NUMBER, "started_at": 1000.0, "ended_at": 1100.0,
                      "wait_seconds": 10.0, "talk_seconds": 60.0, "outcome": "completed", "retries": 2})
    row = dict(store.db["calls"].get("c1"))
    assert row["connected_at"] == 1040.0 and row["queued_at"] == 1030.0
    assert '"retries": 2' in row["extra"]


@pytest.mark.parametrize("bad, message", [
    ({"event": "SURVEY", "at": 1050.0, "detail": "7"}, "survey score '7'"),
    ({"event": "KEY", "detail": "1"}, "event 0 needs"),
])
def test_a_bad_record_is_refused_whole_and_the_call_stays_open(store, bad, message):
    store.call_started("c1", "gsm1", NUMBER, 1000.0)
    with pytest.raises(ValueError, match=message):
        store.call_ended({"id": "c1", "line": "gsm1", "caller": NUMBER, "started_at": 1000.0, "ended_at": 1060.0,
                          "outcome": "completed", "events": [bad]})
    assert store.db.execute("SELECT ended_at FROM calls").fetchone()[0] is None
    assert store.db.execute("SELECT COUNT(*) FROM call_events").fetchone()[0] == 0


def test_database_runs_in_wal_mode(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_notes_types_tickets_and_contacts(store):
    write(store, record("c1", 1000.0))
    note = store.add_note("c1", "Boris", "Landlord keeps the deposit", now=1200.0)
    store.set_call_type("c1", "data", "housing")
    ticket = store.open_ticket("c1", "Send the deposit letter template", "Boris", now=1300.0)
    assert store.update_ticket(ticket, status="in progress", now=1400.0)["status"] == "in progress"
    closed = store.update_ticket(ticket, status="closed", now=1500.0)
    assert closed["closed_at"] == 1500.0
    key = store.upsert_contact(NUMBER, name="Ivan", note="prefers evenings", author="Boris", now=1600.0)
    call = CallLog(store.path).call("c1")
    assert call["notes"][0]["id"] == note and call["notes"][0]["text"] == "Landlord keeps the deposit"
    assert (call["call_type"], call["category"]) == ("data", "housing")
    assert call["tickets"][0]["status"] == "closed"
    assert call["caller_key"] == key
    assert CallLog(store.path).history(key)["contact"]["name"] == "Ivan"


def test_operator_writes_refuse_bad_input_and_change_nothing(store):
    write(store, record("c1", 1000.0))
    with pytest.raises(ValueError, match="call type 'rude'"):
        store.set_call_type("c1", "rude")
    with pytest.raises(LookupError, match="no call nope"):
        store.add_note("nope", "Boris", "text", now=1.0)
    with pytest.raises(ValueError, match="needs some text"):
        store.add_note("c1", "Boris", "   ", now=1.0)
    ticket = store.open_ticket("c1", "Call back", "Boris", now=1.0)
    store.update_ticket(ticket, status="closed", now=2.0)
    with pytest.raises(ValueError, match="from 'closed' to 'in progress'"):
        store.update_ticket(ticket, status="in progress", now=3.0)
    with pytest.raises(LookupError, match="no ticket 99"):
        store.update_ticket(99, status="closed", now=3.0)
    assert store.db.execute("SELECT call_type FROM calls").fetchone()[0] is None
    assert store.db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0
    assert store.db.execute("SELECT status FROM tickets").fetchone()[0] == "closed"


def test_an_operator_type_set_during_the_call_survives_the_end_of_the_call(store):
    store.call_started("c1", "gsm1", NUMBER, 1000.0)
    store.set_call_type("c1", "abusive")
    store.call_ended(record("c1", 1000.0))
    assert store.db.execute("SELECT call_type FROM calls").fetchone()[0] == "abusive"


def test_caller_history_counts_earlier_calls_with_outcomes_and_notes(store):
    write(store, record("c1", 1000.0))
    store.add_note("c1", "Anna", "First time: deposit dispute", now=1100.0)
    write(store, record("c2", 5000.0, answered=False))
    write(store, record("other", 6000.0, caller="+79990000000"))
    write(store, record("c3", 9000.0))
    history = CallLog(store.path).call("c3")["history"]
    assert history["count"] == 2 and history["first"] == 1000.0 and history["last"] == 5000.0
    assert history["outcomes"] == {"completed": 1, "abandoned": 1}
    assert [c["id"] for c in history["calls"]] == ["c2", "c1"]
    assert history["notes"][0]["text"] == "First time: deposit dispute"
    withheld = CallLog(store.path)
    write(store, record("anon", 9500.0, caller=None))
    assert withheld.call("anon")["history"]["count"] == 0


def test_search_by_caller_dates_outcome_and_note_text(store):
    write(store, record("c1", 1000.0))
    write(store, record("c2", 2000.0, answered=False))
    write(store, record("c3", 3000.0, caller="+441632960961"))
    store.add_note("c3", "Anna", "Asked about tenancy deposits", now=3100.0)
    log = CallLog(store.path)
    assert [c["id"] for c in log.search(caller="+7 916 123-45-67")] == ["c2", "c1"]
    assert [c["id"] for c in log.search(since=1500.0, until=3500.0)] == ["c3", "c2"]
    assert [c["id"] for c in log.search(outcome="abandoned")] == ["c2"]
    assert [c["id"] for c in log.search(q="deposit tenancy")] == ["c3"]
    assert log.search(q='deposit" OR (') == []  # FTS syntax in the text is taken as words, never an error
    with pytest.raises(ValueError, match="has no words"):
        log.search(q="(((")
    with pytest.raises(ValueError, match="unknown call filter"):
        log.search(colour="red")


def test_recent_keeps_its_old_signature(store):
    for n in range(5):
        write(store, record(f"c{n}", 1000.0 * (n + 1)))
    assert [c["id"] for c in CallLog(store.path).recent(2, 1)] == ["c3", "c2"]
    assert CallLog(store.path.parent / "missing.db").recent() == []


def test_a_version_1_database_is_migrated_and_keeps_its_calls(tmp_path):
    path = tmp_path / "calls.db"
    old = sqlite_utils.Database(path)
    migrations.migrate(old, migrations.MIGRATIONS[:1])
    old["calls"].insert({"id": "old", "line": "gsm1", "caller": NUMBER, "started_at": 10.0, "ended_at": 20.0,
                         "outcome": "completed"})
    old.close()
    store = CallStore(path)
    try:
        assert store.db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == len(
            migrations.MIGRATIONS)
        assert CallLog(path).recent()[0]["id"] == "old"
        write(store, record("new", 100.0))
        assert len(CallLog(path).recent()) == 2
    finally:
        store.close()


def test_a_database_from_newer_software_is_refused(tmp_path):
    path = tmp_path / "calls.db"
    CallStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'later')")
    with pytest.raises(RuntimeError, match="version 99 is newer"):
        CallStore(path, privacy=Privacy("full", b"k" * 32))


def _plan(conn: sqlite3.Connection, run) -> list[str]:
    """The query plan of every statement `run` sends through `conn`, as SQLite's EXPLAIN QUERY PLAN words it."""
    sent: list[str] = []
    conn.set_trace_callback(sent.append)
    try:
        run()
    finally:
        conn.set_trace_callback(None)
    return [row[3] for sql in sent if sql.lstrip().upper().startswith("SELECT")
            for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]


def test_the_callbacks_report_and_a_notes_search_do_not_read_a_whole_call_per_match(store):
    """Both grow with the calls on a box: they must read indexes per match, whole rows only for the page."""
    from appliance.records.store import stats

    for n in range(30):
        write(store, record(f"c{n}", 1000.0 + n * 100, answered=False))
        store.add_note(f"c{n}", "Anna", "Asked about tenancy deposits", now=1050.0 + n * 100)
        store.callback_update(f"cb{n}", f"c{n}", NUMBER, "done" if n % 2 else "waiting", 1, None, at=1060.0 + n * 100)
    conn = sqlite3.connect(store.path)
    report = _plan(conn, lambda: stats.callbacks(conn, stats.params(0.0, 10_000.0)))
    reads = [step for step in report if "callbacks" in step]  # (the part-day of a period: whole days are rolled up)
    assert reads and all("COVERING INDEX" in step for step in reads), report
    log = CallLog(store.path)
    found = log.search(q="deposit", limit=5)
    assert [c["id"] for c in found] == ["c29", "c28", "c27", "c26", "c25"]
    reader = log._connect()
    search = _plan(reader, lambda: log.search(q="deposit", limit=5))
    whole_rows = [step for step in search if "calls" in step and "COVERING" not in step]
    assert whole_rows == ["SEARCH calls USING INTEGER PRIMARY KEY (rowid=?)"], search  # the page's rows only


def test_a_notes_search_works_on_a_version_7_database_not_yet_migrated(tmp_path):
    """The web may read a restored older log before the daemon's next start migrates it (no search index yet)."""
    path = tmp_path / "calls.db"
    old = sqlite_utils.Database(path)
    migrations.migrate(old, migrations.MIGRATIONS[:7])
    old["calls"].insert({"id": "old", "line": "gsm1", "caller": NUMBER, "started_at": 10.0, "ended_at": 20.0,
                         "outcome": "completed"})
    old["notes"].insert({"call_id": "old", "caller_key": None, "at": 15.0, "author": "Anna",
                         "text": "Asked about tenancy deposits"})
    old.close()
    log = CallLog(path)
    assert [c["id"] for c in log.search(q="deposit")] == ["old"]
    assert log.search(q="parking") == []


def test_the_writers_page_cache_stays_small_however_large_the_call_log(tmp_path):
    """The daemon's writer appends and touches recent rows, and the OS caches the file. SQLite's page cache of it
    is held for the daemon's life and fills as calls.db grows (~0.8 MB more of a Pi's memory at 1 MiB after a few
    hundred calls, docs/proof.md). Read whole, a call log of thousands of calls leaves 256 KiB of pages (was 1.1 MB)."""
    import ctypes
    import ctypes.util

    library = ctypes.CDLL(ctypes.util.find_library("sqlite3"))  # the one Python's sqlite3 links
    library.sqlite3_memory_used.restype = ctypes.c_int64
    store = CallStore(tmp_path / "calls.db")
    for n in range(2000):
        write(store, record(f"c{n:05d}", 1_700_000_000 + n * 300, caller=f"+7916{n:07d}"))
    store.close()
    assert (tmp_path / "calls.db").stat().st_size > 1536 * 1024  # more than even the old 1 MiB cache held
    store = CallStore(tmp_path / "calls.db")  # the daemon's next start
    try:
        opened = library.sqlite3_memory_used()
        assert store.db.execute("PRAGMA quick_check").fetchone()[0] == "ok"  # every page of every table and index
        assert library.sqlite3_memory_used() - opened <= 400 * 1024  # 256 KiB of pages, their headers, the check
    finally:
        store.close()
