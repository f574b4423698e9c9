"""Hostile requests at the web app: none makes it fail (no 500, no exception), none changes anything.

Every route is hit with wrong methods, path traversal and junk in its URL parameters, huge and
unicode query strings, malformed JSON, random bodies, and as a stranger, with a forged token, or
as a logged-in admin without the right CSRF token. The app runs in testing mode, so an exception
in a view reaches the test instead of becoming a 500 page. No daemon runs behind the app, so
pages that need one answer 503, which is allowed. The box's files (web.db, the secrets,
any calls.db) must be byte-for-byte what they were, audit rows aside.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web import create_app

PASSWORD = "correct horse"
HOSTILE = ["../../etc/passwd", "..%2F..%2Fweb.db", "%2e%2e/%2e%2e/api-token", "..\\..\\web-secret", "%00", "\x00",
           "é☃\u202e\ufeff", "A" * 5000, "-1", "0", "99999999999999999999999", "<script>", "' OR 1=1 --", "{{7*7}}"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def snapshot(data: Path) -> dict[str, object]:
    """What the box keeps: every database's rows (WAL included) and every other file's bytes.

    Audit rows are left out: recording a refused request is what the audit log is for; so are the pages'
    compiled templates (web/template_cache.py), which a refusal's error page may be the first to need: a cache
    of the package's own templates, keyed by their names, not anything a request writes.
    """
    state: dict[str, object] = {}
    for path in sorted(data.rglob("*")):
        kept = path.is_file() and path.parent.name != "web-templates"
        if not kept or path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        if path.suffix == ".db":
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
                state[path.name] = [line for line in conn.iterdump() if not line.startswith('INSERT INTO "audit"')]
        else:
            state[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    data = tmp_path_factory.mktemp("web")
    app = create_app(data, control_path=data / "no-daemon.sock")
    app.testing = True  # exceptions propagate to the test client instead of becoming 500 pages
    setup = app.test_client()
    setup.post("/setup", data={"username": "admin", "password": PASSWORD, "password2": PASSWORD, "lang": "en",
                               "csrf_token": _csrf(setup.get("/setup").text),
                               "setup_code": (data / "setup-code").read_text().strip()})
    admin = app.test_client()
    reply = admin.post("/login", data={"username": "admin", "password": PASSWORD,
                                       "csrf_token": _csrf(admin.get("/login").text)})
    assert reply.status_code == 302
    app.test_client().get("/api/v1/calls")  # the access store is made on first use, not by a refusal
    routes = [(rule.rule, sorted(rule.arguments)) for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    token = (data / "api-token").read_text().strip()
    return app, admin, data, routes, token


def url_for_rule(rule: str, arguments: list[str], filler: str) -> str:
    for name in arguments:
        rule = re.sub(r"<(?:[a-z]+:)?" + name + ">", lambda _: filler, rule)
    return rule


bodies = st.one_of(
    st.none().map(lambda _: {}),
    st.binary(max_size=300).map(lambda b: {"data": b, "content_type": "application/json"}),
    st.sampled_from([b"{", b"[1,", b'{"caller": ', b"\xff\xfe{}", b"null", b'"x"', b"1e999999"]).map(
        lambda b: {"data": b, "content_type": "application/json"}),
    st.dictionaries(st.text(max_size=10), st.one_of(st.text(max_size=20), st.integers(), st.none()),
                    max_size=4).map(lambda d: {"json": d}),
    st.dictionaries(st.sampled_from(["username", "password", "text", "value", "file", "section", "x"]),
                    st.sampled_from(HOSTILE), max_size=3).map(lambda d: {"data": d}),
    st.binary(max_size=300).map(lambda b: {"data": b, "content_type": "application/octet-stream"}),
)
queries = st.one_of(
    st.just(""),
    st.dictionaries(st.sampled_from(["limit", "offset", "q", "since", "until", "caller", "outcome", "lang", "x"]),
                    st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30), st.integers().map(str)), max_size=4)
    .map(lambda d: "&".join(f"{k}={v}" for k, v in d.items())),
    st.integers(1, 40_000).map(lambda n: "q=" + "x" * n),
)
who = st.sampled_from(["stranger", "forged token", "admin without csrf", "admin with wrong csrf", "token, bad json"])


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(route=st.integers(0, 10_000), method=st.sampled_from(METHODS), filler=st.sampled_from(HOSTILE),
       query=queries, body=bodies, as_whom=who)
def test_hostile_requests_are_refused_without_failing_or_changing_anything(web, route, method, filler, query, body,
                                                                            as_whom):
    app, admin, data, routes, token = web
    rule, arguments = routes[route % len(routes)]
    url = url_for_rule(rule, arguments, filler) + (f"?{query}" if query else "")
    headers: dict[str, str] = {}
    client = app.test_client()
    if as_whom == "forged token":
        headers["Authorization"] = "Bearer " + "x" * 43
    elif as_whom == "admin without csrf":
        client = admin
    elif as_whom == "admin with wrong csrf":
        client, headers["X-CSRF-Token"] = admin, "not-the-token"
    elif as_whom == "token, bad json":
        headers["Authorization"] = f"Bearer {token}"
        body = {"data": b'{"caller": "+7', "content_type": "application/json"}
    before = snapshot(data)
    reply = client.open(url, method=method, headers=headers, **body)
    # 503 is the designed answer of a page that needs the daemon: this app has none behind it.
    assert reply.status_code < 500 or reply.status_code == 503, (method, url, as_whom, reply.status_code,
                                                                  reply.get_data()[:300])
    public_page = method == "GET" and rule in ("/login", "/setup")  # the only pages a stranger may open
    if (method != "GET" or as_whom in ("stranger", "forged token")) and not public_page:
        assert reply.status_code >= 300, (method, url, as_whom, reply.status_code)
    assert snapshot(data) == before, (method, url, as_whom)


def test_an_oversized_upload_is_refused_with_413_and_changes_nothing(web):
    app, admin, data, _, _ = web
    csrf = _csrf(admin.get("/backup").text)
    before = snapshot(data)
    reply = admin.post("/backup/restore", data=b"\0" * (64 * 1024 * 1024 + 1),
                       headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"})
    assert reply.status_code == 413
    assert snapshot(data) == before


def test_an_oversized_json_body_is_refused_with_413_before_it_is_parsed(web):
    app, _, data, _, token = web
    before = snapshot(data)
    reply = app.test_client().post("/api/sim/call", data=b'{"caller": "' + b"9" * 2_000_000 + b'"}',
                                   headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert snapshot(data) == before
    assert reply.status_code == 413


def test_an_id_beyond_sqlites_integers_is_not_found_on_every_route_that_takes_one(web):
    """A number the database cannot hold names no row: 404 from every <int:...> route, for each method it takes,
    sent as a signed-in admin with the right CSRF token so that only the id can refuse it."""
    app, admin, data, _, _ = web
    headers = {"X-CSRF-Token": _csrf(admin.get("/kb/new").text)}
    rules = [rule for rule in app.url_map.iter_rules() if "<int:" in rule.rule]
    assert len(rules) >= 9, [rule.rule for rule in rules]  # knowledge base, revisions, voicemail, tickets, callbacks
    before = snapshot(data)
    for rule in rules:
        for huge in (2**63, 10**22):
            url = url_for_rule(rule.rule, sorted(rule.arguments), str(huge))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                reply = admin.open(url, method=method, headers=headers)
                assert reply.status_code == 404, (method, url, reply.status_code)
    assert snapshot(data) == before
