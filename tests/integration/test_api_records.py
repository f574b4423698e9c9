"""The /api/v1 records API: bearer tokens, filters, one call with its story, stats, streamed CSV, the audit trail."""

from __future__ import annotations

import csv
import io

import pytest

import web
from appliance.records.store.access import DENIED_SOURCES, AccessStore
from appliance.records.store.calls import CallStore
from tests.support.calls import NUMBER, record, write
from web import api_records

DAY = 86400.0
BASE = 19_800 * DAY  # 2024-03-18 00:00 UTC


@pytest.fixture
def box(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    store = CallStore(data / "calls.db")
    write(store, record("c1", BASE + 9 * 3600))
    store.add_note("c1", "Anna", "Asked about the deposit", now=BASE + 10 * 3600)
    write(store, record("c2", BASE + DAY + 9 * 3600, answered=False))
    write(store, record("c3", BASE + 2 * DAY + 9 * 3600, caller="+442079460123"))
    store.close()
    access = AccessStore(data / "access.db")
    tokens = {"operator": access.create_token("crm", now=1.0),
              "admin": access.create_token("reports", role="admin", now=1.0)}
    app = web.create_app(data)
    if api_records.blueprint.name not in app.blueprints:  # the app factory may register it already
        app.register_blueprint(api_records.blueprint)
    yield app.test_client(), tokens, access
    access.close()


def get(client, path: str, token: str | None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers, query_string=params)


@pytest.mark.parametrize("token", [None, "hl_not-a-real-token", "Basic dXNlcjpwYXNz"])
def test_no_token_or_a_bad_one_is_401_and_is_audited(box, token):
    client, _, access = box
    response = get(client, "/api/v1/calls", token)
    assert response.status_code == 401 and "Bearer" in response.headers["WWW-Authenticate"]
    assert "calls" not in response.get_json()
    assert access.audit_entries()[0]["action"] == "api.denied"


def test_a_revoked_token_stops_working(box):
    client, tokens, access = box
    assert get(client, "/api/v1/calls", tokens["operator"]).status_code == 200
    access.revoke_tokens("crm", now=2.0)
    assert get(client, "/api/v1/calls", tokens["operator"]).status_code == 401


def test_calls_are_listed_with_filters_and_numbers_shown_by_token_role(box):
    client, tokens, _ = box
    listed = get(client, "/api/v1/calls", tokens["operator"]).get_json()["calls"]
    assert [c["id"] for c in listed] == ["c3", "c2", "c1"]
    assert listed[2]["caller"] == "+7 *** ***-45-67"
    assert get(client, "/api/v1/calls", tokens["admin"]).get_json()["calls"][2]["caller"] == NUMBER

    def ids(**params):
        response = get(client, "/api/v1/calls", tokens["operator"], **params)
        assert response.status_code == 200, response.get_json()
        return [c["id"] for c in response.get_json()["calls"]]

    assert ids(caller=NUMBER) == ["c2", "c1"]
    assert ids(outcome="abandoned") == ["c2"]
    assert ids(**{"from": "2024-03-19", "to": "2024-03-20T00:00:00Z"}) == ["c2"]
    assert ids(**{"from": str(BASE + 2 * DAY)}) == ["c3"]
    assert ids(q="deposit") == ["c1"]
    assert ids(limit=1, offset=1) == ["c2"]


@pytest.mark.parametrize("params, message", [
    ({"from": "yesterday"}, "from='yesterday'"),
    ({"limit": "lots"}, "limit='lots'"),
    ({"limit": "9999"}, "limit must be between"),
    ({"q": "!!!"}, "has no words"),
])
def test_bad_parameters_are_400_naming_the_parameter(box, params, message):
    client, tokens, _ = box
    response = get(client, "/api/v1/calls", tokens["operator"], **params)
    assert response.status_code == 400 and message in response.get_json()["error"]


def test_one_call_comes_with_its_timeline_and_the_callers_history(box):
    client, tokens, access = box
    call = get(client, "/api/v1/calls/c2", tokens["operator"]).get_json()
    assert [e["event"] for e in call["events"]] == ["ANSWERED", "KEY", "ENTERQUEUE", "RINGNOANSWER", "ABANDON"]
    assert call["history"]["count"] == 1 and call["history"]["notes"][0]["text"] == "Asked about the deposit"
    assert get(client, "/api/v1/calls/nope", tokens["operator"]).status_code == 404
    viewed = [(e["actor"], e["action"], e["target"]) for e in access.audit_entries(limit=2)]
    assert viewed == [("api:crm", "api.calls.view", "nope"), ("api:crm", "api.calls.view", "c2")]


def test_stats_for_a_period(box):
    client, tokens, _ = box
    figures = get(client, "/api/v1/stats", tokens["operator"], **{"from": BASE, "to": BASE + 3 * DAY,
                                                                  "service_level": 10}).get_json()
    assert figures["summary"]["calls"] == 3 and figures["summary"]["answered"] == 2
    assert figures["service_level_seconds"] == 10
    assert get(client, "/api/v1/stats", tokens["operator"], service_level="0").status_code == 400


def test_csv_export_streams_the_filtered_calls_and_is_audited(box):
    client, tokens, access = box
    response = get(client, "/api/v1/export.csv", tokens["operator"], caller=NUMBER)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["id"] for r in rows] == ["c1", "c2"]
    assert rows[0]["caller"] == "+7 *** ***-45-67" and rows[0]["started_at"] == "2024-03-18T09:00:00Z"
    assert rows[1]["outcome"] == "abandoned"
    entry = access.audit_entries(limit=1)[0]
    assert (entry["actor"], entry["action"]) == ("api:crm", "api.export") and "caller" in entry["detail"]


def test_a_stranger_cannot_fill_the_disk_through_the_audit_log(box):
    client, _, access = box
    for n in range(300):  # 300 refused requests with long paths (issue 15: 9 MB in 6 s)
        get(client, "/api/v1/calls/" + "x" * 3000 + str(n), "hl_guess" if n % 2 else None)
    rows = access.db.execute("SELECT target, count, detail FROM audit WHERE action = 'api.denied'").fetchall()
    assert len(rows) == 1
    (source, count, detail), = rows
    assert source == "127.0.0.1" and count == 300 and detail.startswith("300 refused") and len(detail) < 200
    # Many sources in one hour: each gets one row until the bound, then they share one.
    for n in range(DENIED_SOURCES + 40):
        client.get("/api/v1/calls", environ_base={"REMOTE_ADDR": f"10.0.{n // 250}.{n % 250}"})
    rows = access.db.execute("SELECT COUNT(*), SUM(count) FROM audit WHERE action = 'api.denied'").fetchone()
    assert rows == (DENIED_SOURCES + 1, 300 + DENIED_SOURCES + 40)
