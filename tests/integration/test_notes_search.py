"""Every search pages by cursor (CallLog.page): following `next` from the first page, or `previous` back from
the last, must give exactly the matches, in order, each once, whatever the page size, with the other filters,
with calls begun in the same millisecond or at the same instant, notes written days after their call, a
call's start moved after its notes were written, and on a log not yet migrated to 17."""

from __future__ import annotations

import random
import re

import pytest
import sqlite_utils

from appliance.records.privacy import Privacy
from appliance.records.store import migrations
from appliance.records.store.calls import CallStore
from appliance.records.store.queries import CallLog
from tests.support.calls import record, write

WORDS = ("deposit", "landlord", "eviction", "court", "pension", "school")
DAY = 86400.0
KEY = Privacy("full", b"k" * 32)


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> CallLog:
    path = tmp_path_factory.mktemp("search") / "calls.db"
    store = CallStore(path, privacy=KEY)
    rng = random.Random(18)
    starts = {}
    for n in range(200):
        # ties: some calls begin at the same instant, some in the same millisecond, as on two lines
        starts[n] = 1_000_000.0 + (n - n % 3) * 600 + (0.0004 * (n % 3) if n % 2 else 0.0)
        write(store, record(f"c{n:03d}", starts[n], answered=rng.random() > 0.3,
                            caller=f"+7916{rng.randrange(5):07d}"))
    for _ in range(500):
        n = rng.randrange(200)
        # most written during the call; some on an old call days later (newer notes, older calls)
        later = rng.choice((30.0, 30.0, 30.0, rng.uniform(1, 10) * DAY))
        store.add_note(f"c{n:03d}", "Anna", " ".join(rng.sample(WORDS, 2)), now=starts[n] + later)
    store.add_note("c150", "Anna", "deposit after the clock stepped back", now=starts[150] - 7 * DAY)
    # a call's start moved once its notes were written (a clock set later, store/restamp.py)
    store.db.execute("UPDATE calls SET started_at = started_at - 30 * 86400 WHERE id = 'c120'")
    store.close()
    return CallLog(path, privacy=KEY)


def matches(log: CallLog, q: str, **filters) -> list[str]:
    """What a search must find, worked out without the index: every word a prefix of a word of one note."""
    words = re.findall(r"\w+", q.lower())
    noted = {row["call_id"] for row in log._query("SELECT call_id, text FROM notes")
             if all(any(token.startswith(w) for token in re.findall(r"\w+", row["text"].lower())) for w in words)}
    calls = {c["id"] for c in log.search(limit=10**6, **filters)}  # no q: the calls' own index
    rows = log._query("SELECT id, started_at, rowid FROM calls")
    return [r["id"] for r in sorted(rows, key=lambda r: (r["started_at"], r["rowid"]), reverse=True)
            if r["id"] in noted and r["id"] in calls]


def walk(log: CallLog, limit: int, **filters) -> tuple[list[str], list[str]]:
    """Every page by `next` from the first; then every page by `previous` back from the last."""
    forward, page = [], log.page(limit=limit, **filters)
    pages = [page]
    while True:
        forward += [c["id"] for c in page.calls]
        if page.next is None:
            break
        page = log.page(limit=limit, after=page.next, **filters)
        pages.append(page)
    backward = [c["id"] for c in page.calls]
    while page.previous is not None:
        page = log.page(limit=limit, before=page.previous, **filters)
        backward = [c["id"] for c in page.calls] + backward
    return forward, backward


def test_a_note_is_never_stamped_before_its_call_began(log):
    at = log._query("SELECT at FROM notes WHERE text LIKE '%clock stepped back'")[0]["at"]
    assert at == 1_000_000.0 + 150 * 600


@pytest.mark.parametrize("filters", [{}, {"since": 1_030_000.0}, {"until": 1_060_000.0}, {"outcome": "abandoned"},
                                     {"caller": "+79160000003", "since": 1_010_000.0}])
def test_following_the_pages_finds_every_match_once_in_order(log, filters):
    for q in (*WORDS, "deposit landlord", "court pension", "dep", "nothing"):
        expected = matches(log, q, **filters)
        for limit in (1, 7, 50):
            forward, backward = walk(log, limit, q=q, **filters)
            assert forward == expected and backward == expected, (q, filters, limit)
        assert [c["id"] for c in log.search(q=q, limit=7, offset=14, **filters)] == expected[14:21]


@pytest.mark.parametrize("filters", [{}, {"outcome": "completed"}, {"since": 1_030_000.0, "until": 1_090_000.0}])
def test_a_search_without_words_pages_the_same_way(log, filters):
    expected = [c["id"] for c in log.search(limit=10**6, **filters)]
    assert len(expected) > 20
    for limit in (1, 9):
        assert walk(log, limit, **filters) == (expected, expected)


def test_a_cursor_that_is_not_one_is_refused_by_name(log):
    for bad in ("yesterday", "12_x", "_5", "1e999999_1", "nan_3"):
        with pytest.raises(ValueError, match="after="):
            log.page(after=bad)
    with pytest.raises(ValueError, match="before="):
        log.page(before="nope", q="deposit")
    with pytest.raises(ValueError, match="not both"):
        log.page(after="1.0_1", before="2.0_2")


def test_a_log_not_yet_migrated_to_17_is_searched_by_reading_every_match(tmp_path):
    path = tmp_path / "calls.db"
    old = sqlite_utils.Database(path)
    migrations.migrate(old, migrations.MIGRATIONS[:16])
    for n in range(12):
        old["calls"].insert({"id": f"c{n:02d}", "line": "gsm1", "started_at": 10.0 + n, "ended_at": 20.0 + n,
                             "outcome": "completed"})
        old["notes"].insert({"call_id": f"c{n:02d}", "at": 15.0 + n, "author": "Anna", "text": "deposit dispute"})
    expected = [f"c{n:02d}" for n in reversed(range(12))]
    log = CallLog(path)
    assert walk(log, 5, q="deposit") == (expected, expected)
    migrations.migrate(old)  # migration 17: the index keyed by each note's place
    assert walk(log, 5, q="deposit") == (expected, expected)
    assert old.execute("SELECT count(*) FROM notes WHERE sort_key IS NULL").fetchone()[0] == 0
