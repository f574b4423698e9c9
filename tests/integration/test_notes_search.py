"""A notes search with many matches reads the newest matching notes and stops once its page is complete
(CallLog._by_notes): it must find exactly what reading every match found, for every page, with the other
filters, with notes written on old calls days later, and after the clock stepped back."""

from __future__ import annotations

import random

import pytest
import sqlite_utils

from appliance.records.privacy import Privacy
from appliance.records.store import migrations, queries
from appliance.records.store.calls import CallStore
from appliance.records.store.queries import CallLog
from tests.support.calls import record, write

WORDS = ("deposit", "landlord", "eviction", "court", "pension", "school")
DAY = 86400.0


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> CallLog:
    path = tmp_path_factory.mktemp("search") / "calls.db"
    store = CallStore(path, privacy=Privacy("full", b"k" * 32))
    rng = random.Random(18)
    starts = {}
    for n in range(200):
        starts[n] = 1_000_000.0 + n * 600
        write(store, record(f"c{n:03d}", starts[n], answered=rng.random() > 0.3,
                            caller=f"+7916{rng.randrange(5):07d}"))
    for _ in range(500):
        n = rng.randrange(200)
        # most written during the call; some on an old call days later (newer notes, older calls)
        later = rng.choice((30.0, 30.0, 30.0, rng.uniform(1, 10) * DAY))
        store.add_note(f"c{n:03d}", "Anna", " ".join(rng.sample(WORDS, 2)), now=starts[n] + later)
    store.add_note("c150", "Anna", "deposit after the clock stepped back", now=starts[150] - 7 * DAY)
    store.close()
    return CallLog(path, privacy=Privacy("full", b"k" * 32))


def test_a_note_is_never_stamped_before_its_call_began(log):
    at = log._query("SELECT at FROM notes WHERE text LIKE '%clock stepped back'")[0]["at"]
    assert at == 1_000_000.0 + 150 * 600


@pytest.mark.parametrize("filters", [{}, {"since": 1_030_000.0}, {"until": 1_060_000.0}, {"outcome": "abandoned"},
                                     {"caller": "+79160000003", "since": 1_010_000.0}])
def test_walking_the_notes_newest_first_finds_what_reading_every_match_found(log, filters, monkeypatch):
    monkeypatch.setattr(queries, "_FEW_MATCHES", 0)  # every search here walks, as a common word does on a big box
    for q in (*WORDS, "deposit landlord", "court pension", "dep", "nothing"):
        where, params = log._where({"q": q, **filters})
        for limit, offset in ((1, 0), (5, 0), (20, 0), (20, 20), (7, 60), (500, 0), (10, 500)):
            expected = [c["id"] for c in log._all_matches(where, params, limit, offset)]
            found = [c["id"] for c in log.search(q=q, limit=limit, offset=offset, **filters)]
            assert found == expected, (q, filters, limit, offset)


def test_a_log_not_yet_migrated_to_16_is_searched_by_reading_every_match(tmp_path, monkeypatch):
    path = tmp_path / "calls.db"
    old = sqlite_utils.Database(path)
    migrations.migrate(old, migrations.MIGRATIONS[:15])
    old["calls"].insert({"id": "old", "line": "gsm1", "started_at": 10.0, "ended_at": 20.0, "outcome": "completed"})
    old["notes"].insert({"call_id": "old", "at": 5.0, "author": "Anna", "text": "deposit dispute"})
    monkeypatch.setattr(queries, "_FEW_MATCHES", 0)
    assert [c["id"] for c in CallLog(path).search(q="deposit")] == ["old"]
    migrations.migrate(old)  # migration 16: the note stamped before its call moves to the call's start
    assert old.execute("SELECT at FROM notes").fetchone()[0] == 10.0
    assert [c["id"] for c in CallLog(path).search(q="deposit")] == ["old"]
