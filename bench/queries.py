"""How fast the dashboard and the call log are on a big box: 1,000,000 calls with realistic timelines.

    .venv/bin/python bench/queries.py [--calls N] [--rebuild]

The database is generated once (executemany in big transactions, indexes built
and the statistics rollups backfilled after the load, as migration 6 does) and
cached under /tmp; then every dashboard statistic and the call-log searches are
timed (best of 3) and printed. Target: each statistics query (today, 7 days,
30 days and the 365-day report) under 200 ms. A 365-day local-time period is
also counted on the calls themselves (no rollups): the figures must be equal. Importable: `run() -> dict`
of query name -> seconds.
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from appliance.records.privacy import Privacy  # noqa: E402
from appliance.records.store import stats  # noqa: E402
from appliance.records.store.calls import CallStore  # noqa: E402
from appliance.records.store.migrations import MIGRATIONS  # noqa: E402
from appliance.records.store.queries import CallLog  # noqa: E402
from appliance.records.store.rollups import backfill_rollups  # noqa: E402

CACHE = Path("/tmp/hotline-bench")
DAY = 86400.0
END = 1_717_200_000.0  # 2024-06-01 00:00 UTC: "now" for the generated box
DAYS = 730
TARGET = 0.200
OPERATORS = [("h1", "Anna"), ("h2", "Boris"), ("h3", "Vera"), ("h4", "Gleb"), ("h5", "Dina"), ("h6", "Egor"),
             ("h7", "Zoya"), ("h8", "Ilya")]
HOURS = [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 8, 9, 10, 10, 9, 8, 6, 5, 4, 3, 2, 1]  # calls by hour of day
WORDS = ("deposit landlord tenancy contract debt court pension benefit school doctor violence shelter anxiety "
         "insomnia loneliness divorce custody neighbour noise heating repair eviction loan fraud").split()
SECRET = b"bench secret, not a real box key"


def _call(rng: random.Random, n: int, start: float, key: str, stored: str) -> tuple[tuple, list[tuple], list]:
    """One call row, its events and its extra rows (note, callback, survey)."""
    cid = f"b{n:07d}"
    events = [(cid, start + 1, "ANSWERED", None, None)]
    t = start + 1 + rng.uniform(2, 12)
    skill = rng.choice(("legal", "psychology", "general"))
    events.append((cid, t, "KEY", None, str(rng.randint(0, 3))))
    kind = rng.random()
    queued = connected = wait = talk = score = handset = operator = None
    outcome = "left in menu"
    extras: list = []
    if kind > 0.10:
        queued = t
        events.append((cid, t, "ENTERQUEUE", None, skill))
        fate = rng.random()
        if rng.random() < 0.3:
            events.append((cid, t + 15, "RINGNOANSWER", rng.choice(OPERATORS)[0], None))
        if fate < 0.75:
            wait = round(rng.expovariate(1 / 15), 1)
            talk = round(rng.expovariate(1 / 240) + 5, 1)
            handset, operator = rng.choice(OPERATORS)
            connected = t + wait
            events.append((cid, connected, "CONNECT", handset, None))
            events.append((cid, connected + talk, rng.choice(("COMPLETECALLER", "COMPLETEAGENT")), handset, None))
            outcome, t = "completed", connected + talk
            if rng.random() < 0.3:
                score = rng.choice((3, 4, 4, 5, 5, 5, 2, 1))
                events.append((cid, t + 3, "SURVEY", None, str(score)))
        elif fate < 0.95:
            wait = round(rng.expovariate(1 / 25), 1)
            events.append((cid, t + wait, "ABANDON", None, None))
            outcome, t = "abandoned", t + wait
        else:
            wait = 60.0
            events.append((cid, t + 60, "EXITWITHTIMEOUT", None, None))
            events.append((cid, t + 61, "VOICEMAIL", None, f"voicemail/{cid}.flac"))
            outcome, t = "no answer", t + 90
            extras.append(("voicemail", (cid, key, t - 29, f"voicemail/{cid}.flac", 25.0)))
        if outcome != "completed" and rng.random() < 0.15:
            events.append((cid, t, "CALLBACK_REQUEST", None, None))
            done = rng.random() < 0.8
            extras.append(("callback", (cid, key, t, "done" if done else "pending", t + 3600 if done else None)))
    if connected and rng.random() < 0.05:
        text = " ".join(rng.sample(WORDS, 4))
        extras.append(("note", (cid, key, t + 60, operator, f"Caller asked about {text}.")))
    row = (cid, "gsm1", stored, key, start, start + 1, queued, connected, t + 1, "1", skill, handset, operator,
           wait, round(t - connected, 1) if connected else None, outcome, "caller", score,
           rng.choice(("data", "data", "data", "silent", "hang-up")) if rng.random() < 0.5 else None)
    return row, events, extras


def build(path: Path, calls: int, seed: int = 7) -> None:
    """Generate the database: schema through CallStore, then bulk loads with the indexes dropped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    CallStore(path, privacy=Privacy("masked", SECRET)).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                           "AND tbl_name IN ('calls', 'call_events', 'notes', 'callbacks', 'voicemails')").fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    # The rollup triggers would fold each row in one by one; the backfill does it in bulk after the load.
    # (The callbacks' own day rollup keeps its triggers: a request costs it one upsert.)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'stats%' "
                            "AND tbl_name IN ('calls', 'call_events')").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    rng = random.Random(seed)
    privacy = Privacy("masked", SECRET)
    callers = [f"+7916{rng.randrange(10**7):07d}" for _ in range(max(calls // 5, 1))]
    keys = [(privacy.key(c), privacy.stored(c)) for c in callers]
    weights = [w / sum(HOURS) for w in HOURS]
    began = time.perf_counter()
    batch, n = 50_000, 0
    while n < calls:
        rows, events, notes, callbacks, voicemails = [], [], [], [], []
        for i in range(n, min(n + batch, calls)):
            day = int(i * DAYS / calls)
            hour = rng.choices(range(24), weights)[0]
            start = END - (DAYS - day) * DAY + hour * 3600 + rng.uniform(0, 3600)
            # A third of the calls come from a few regulars (about 150 calls each over two years).
            key, stored = keys[rng.randrange(min(2000, len(keys))) if rng.random() < 0.3 else rng.randrange(len(keys))]
            row, evs, extras = _call(rng, i, start, key, stored)
            rows.append(row)
            events += evs
            for kind, values in extras:
                {"note": notes, "callback": callbacks, "voicemail": voicemails}[kind].append(values)
        with conn:
            conn.executemany("INSERT INTO calls (id, line, caller, caller_key, started_at, answered_at, queued_at, "
                             "connected_at, ended_at, menu_path, skill, handset, operator, wait_seconds, "
                             "talk_seconds, outcome, ended_by, survey_score, call_type) "
                             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            conn.executemany("INSERT INTO call_events (call_id, at, event, handset, detail) VALUES (?,?,?,?,?)",
                             events)
            conn.executemany("INSERT INTO notes (call_id, caller_key, at, author, text) VALUES (?,?,?,?,?)", notes)
            conn.executemany("INSERT INTO callbacks (call_id, caller_key, requested_at, status, done_at) "
                             "VALUES (?,?,?,?,?)", callbacks)
            conn.executemany("INSERT INTO voicemails (call_id, caller_key, at, path, seconds) VALUES (?,?,?,?,?)",
                             voicemails)
        n += len(rows)
        elapsed = time.perf_counter() - began
        print(f"\r  generated {n:,} of {calls:,} calls ({elapsed:.0f} s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    for name, sql in indexes:
        print(f"  indexing {name}", file=sys.stderr, flush=True)
        conn.execute(sql)
    folding = time.perf_counter()
    with conn:
        backfill_rollups(conn)
        for _, sql in triggers:
            conn.execute(sql)
    print(f"  statistics rollups backfilled in {time.perf_counter() - folding:.1f} s", file=sys.stderr)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.commit()
    conn.close()
    print(f"  built {path} in {time.perf_counter() - began:.0f} s", file=sys.stderr)


def _version(path: Path) -> int:
    """The schema version of a cached database (an older one is migrated, a newer one built again)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def _time(fn, repeat: int = 3) -> float:
    best = math.inf
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - began)
    return best


def run(calls: int = 1_000_000, rebuild: bool = False, db: Path | None = None) -> dict[str, float]:
    """Build (or reuse) the database and time every query; returns seconds per query name."""
    path = db or CACHE / f"calls-{calls}.db"
    if rebuild or not path.exists() or _version(path) > len(MIGRATIONS):
        build(path, calls)
    elif _version(path) < len(MIGRATIONS):
        CallStore(path, privacy=Privacy("masked", SECRET)).close()  # migrated as a box upgrades (not built again)
    log = CallLog(path, privacy=Privacy("masked", SECRET))
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    results: dict[str, float] = {}
    # The dashboard shows today, the week and the month; a year is the report (the same target since issue 7),
    # also in a zone half an hour off UTC (India, Iran, central Australia), whose hours no hour row holds.
    for kind, period, days, offset in (("dashboard", "today", 1, 3), ("dashboard", "7 days", 7, 3),
                                       ("dashboard", "30 days", 30, 3), ("report", "365 days", 365, 3),
                                       ("report", "365 days, UTC+5:30", 365, 5.5)):
        p = stats.params(END - days * DAY, END, utc_offset=offset * 3600)
        for name, query in stats.QUERIES.items():
            results[f"{kind} {name} ({period})"] = _time(lambda q=query, p=p: q(conn, p))
    # A local-time year with other thresholds: the part-days at both edges come from the calls themselves.
    year = {"short_abandon": 3, "service_level": 30, "utc_offset": 5.5 * 3600}
    since = END - 365 * DAY - 7 * 3600
    rolled = _time(lambda: log.stats(since, END, **year), repeat=1)
    began = time.perf_counter()
    raw = stats.dashboard(conn, since, END, rollups=False, **year)
    print(f"  365 days at UTC+5:30, all figures: {rolled * 1000:.0f} ms from rollups, "
          f"{(time.perf_counter() - began) * 1000:.0f} ms counted on the calls", file=sys.stderr)
    if raw != log.stats(since, END, **year):
        raise SystemExit("the 365-day figures from the rollups differ from those counted on the calls")
    conn.close()
    frequent = log._query("SELECT caller_key FROM calls INDEXED BY idx_calls_caller GROUP BY caller_key "
                          "ORDER BY COUNT(*) DESC LIMIT 1")[0]["caller_key"]
    some_call = log.search(caller=frequent, limit=1)[0]["id"]
    searches = {
        "search by caller": lambda: log.search(caller=frequent),
        "search by date range (1 day)": lambda: log.search(since=END - 3 * DAY, until=END - 2 * DAY, limit=100),
        "search by outcome (newest 50)": lambda: log.search(outcome="abandoned", limit=50),
        "search outcome + 30 days": lambda: log.search(outcome="no answer", since=END - 30 * DAY, limit=50),
        "search full text in notes": lambda: log.search(q="eviction landlord", limit=50),
        "call detail with history": lambda: log.call(some_call, role="operator"),
        "recent page 1": lambda: log.recent(50, 0),
    }
    # Deep pages, reached as a user reaches them: following "next" from the first page (not timed), then the
    # page itself timed by its cursor.
    for what, filters in (("notes \"eviction\"", {"q": "eviction"}), ("outcome abandoned", {"outcome": "abandoned"})):
        after, pages, more = _pages(log, filters, 1000)
        for number in sorted({min(50, pages), pages}):
            searches[f"search {what}, page {number} of {'more than ' if more else ''}{pages}"] = \
                lambda cursor=after[number], filters=filters: log.page(limit=50, after=cursor, **filters)
    for name, fn in searches.items():
        results[name] = _time(fn)
    return results


def _pages(log: CallLog, filters: dict, most: int) -> tuple[dict[int, str | None], int, bool]:
    """The `after` cursor of each page of a search (page 1: none), up to `most` pages; how many were walked, and
    whether more follow."""
    after: dict[int, str | None] = {1: None}
    page, number = log.page(limit=50, **filters), 1
    while page.next is not None and number < most:
        number += 1
        after[number] = page.next
        page = log.page(limit=50, after=page.next, **filters)
    return after, number, page.next is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true", help="generate the database again")
    args = parser.parse_args(argv)
    results = run(args.calls, args.rebuild)
    slow = 0
    for name, seconds in results.items():
        flag = ""
        if name.startswith(("dashboard", "report")) and seconds > TARGET:
            flag, slow = "  over target", slow + 1
        print(f"{seconds * 1000:9.1f} ms  {name}{flag}")
    print(f"{len(results)} queries over {args.calls:,} calls; {slow} statistics queries over "
          f"{TARGET * 1000:.0f} ms; the 365-day figures from rollups equal those counted on the calls")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
