"""A deep search met from outside: the records API and the Records page on a real waitress server over a real
calls.db, followed page by page by their next/older links while new calls with matching notes arrive; and
the query plans of every kind of search, none of which may read the whole call log or sort all its matches."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from appliance.records.store.access import AccessStore
from appliance.records.store.calls import CallStore
from appliance.records.store.queries import CallLog
from tests.support.calls import record, write
from tests.support.web import PASSWORD, csrf_token, set_up
from tests.support.web_server import serving
from web import create_app

BASE = 1_700_000_000.0


def a_log(data) -> list[str]:
    """130 calls, two in three with a note that matches "deposit" (some two, some written days later, some in
    the same millisecond or at the same instant as another call); the matching ids, newest first."""
    store = CallStore(data / "calls.db")
    matching = []
    for n in range(130):
        start = BASE + (n - n % 2) * 300 + (0.0003 if n % 4 == 1 else 0.0)
        write(store, record(f"c{n:03d}", start, answered=n % 5 != 0))
        if n % 3:
            store.add_note(f"c{n:03d}", "Anna", "Asked about the deposit", now=start + 60)
        if n % 4 == 0:
            store.add_note(f"c{n:03d}", "Boris", "deposits again, and parking", now=start + 5 * 86400)
        else:
            store.add_note(f"c{n:03d}", "Boris", "parking", now=start + 30)
        if n % 3 or n % 4 == 0:
            matching.append((start, n))  # calls at the same instant: the later written is listed first
    store.close()
    return [f"c{n:03d}" for _, n in sorted(matching, reverse=True)]


def new_call(data, n: int) -> None:
    """A call arriving now, its note matching too: it belongs above every page already read."""
    store = CallStore(data / "calls.db")
    write(store, record(f"new{n:02d}", BASE + 10 * 86400 + n))
    store.add_note(f"new{n:02d}", "Anna", "deposit, new caller", now=BASE + 10 * 86400 + n + 30)
    store.close()


def get_json(port: int, token: str, **params) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/calls?{urllib.parse.urlencode(params)}",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def test_the_api_and_the_page_walk_every_match_once_while_new_calls_arrive(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    expected = a_log(data)
    access = AccessStore(data / "access.db")
    token = access.create_token("crm", now=1.0, role="admin")
    access.close()
    app = create_app(data, control_path=tmp_path / "none.sock")
    assert set_up(app.test_client(), data).status_code == 302
    with serving(app) as port:
        # the API, 7 calls a page: a new call arrives after every page
        seen, page, arrived = [], get_json(port, token, q="deposit", limit=7), 0
        first_page = page
        while True:
            seen += [c["id"] for c in page["calls"]]
            if page["next"] is None:
                break
            new_call(data, arrived)
            arrived += 1
            page = get_json(port, token, q="deposit", limit=7, after=page["next"])
        assert seen == expected  # every match once, in order; nothing that arrived meanwhile
        assert first_page["previous"] is None and arrived > 10
        # and back by `previous` from the last page: the calls that arrived meanwhile come at the top
        back = [c["id"] for c in page["calls"]]
        while page["previous"] is not None:
            page = get_json(port, token, q="deposit", limit=7, before=page["previous"])
            back = [c["id"] for c in page["calls"]] + back
        assert back == [f"new{n:02d}" for n in reversed(range(arrived))] + expected
        with pytest.raises(urllib.error.HTTPError) as refused:
            get_json(port, token, q="deposit", after="last tuesday")
        assert refused.value.code == 400 and "after='last tuesday'" in json.load(refused.value)["error"]
        with pytest.raises(urllib.error.HTTPError) as deep:
            get_json(port, token, q="deposit", offset=5000)
        assert deep.value.code == 400 and "after=" in json.load(deep.value)["error"]

        # the Records page, signed in, following its "Older" link (50 calls a page)
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        base = f"http://127.0.0.1:{port}"
        token_field = csrf_token(browser.open(f"{base}/login", timeout=30).read().decode())
        browser.open(f"{base}/login", urllib.parse.urlencode(
            {"username": "admin", "password": PASSWORD, "csrf_token": token_field}).encode(), timeout=30)
        url, listed = f"{base}/calls?q=deposit", []
        while url:
            html = browser.open(url, timeout=30).read().decode()
            listed += re.findall(r'href="/calls/([\w]+)"', html)
            older = re.search(r'href="([^"]+)" id="older"', html)
            url = base + older[1].replace("&amp;", "&") if older else None
            if url:
                new_call(data, arrived)
                arrived += 1
        assert listed == [f"new{n:02d}" for n in reversed(range(arrived - 2))] + expected
        with pytest.raises(urllib.error.HTTPError) as far:
            browser.open(f"{base}/calls?q=deposit&page=400", timeout=30)
        assert far.value.code == 400 and "page numbers go from 1 to 10" in far.value.read().decode()
        past = browser.open(f"{base}/calls?q=deposit&page=9", timeout=30).read().decode()
        assert 'id="past-end"' in past and 'id="older"' not in past


def test_no_search_reads_the_whole_log_or_sorts_every_match(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    a_log(data)
    log = CallLog(data / "calls.db")
    conn = log._connect()
    sent: list[str] = []
    for filters in ({}, {"q": "deposit"}, {"q": "deposit", "outcome": "abandoned"}, {"outcome": "completed"},
                    {"q": "deposit", "caller": "+79161234567"}, {"caller": "+79161234567"},
                    {"since": BASE, "until": BASE + 86400}, {"q": "deposit", "since": BASE}, {"operator": "Boris"}):
        for offset in (0, 5):
            cursor = log.page(limit=5, offset=offset, **filters).next
            conn.set_trace_callback(sent.append)
            try:
                log.page(limit=5, after=cursor, **filters)
                log.page(limit=5, before=cursor, **filters)
            finally:
                conn.set_trace_callback(None)
            for sql in sent:
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
                assert not [step for step in plan if re.match(r"SCAN (calls|notes)\b", step)], (filters, plan)
                # Sorted: the page's own rows, and a caller's own calls (their index: a few hundred at most)
                if not sql.startswith("SELECT * FROM calls WHERE rowid IN (") and "caller" not in filters:
                    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, (filters, sql, plan)
            sent.clear()
