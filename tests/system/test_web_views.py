"""The drawn pages: the flow tree with its problems and the schedule calendar (against a real daemon), the
statistics charts (over a calls.db of known calls)."""

from __future__ import annotations

import re
import tomllib
from datetime import date, datetime
from html import unescape

import pytest

from appliance.records.store.calls import CallStore
from tests.support.waiting import wait_until
from tests.support.web import PASSWORD, csrf, csrf_token
from web import create_app
from web.charts import PLOT_HEIGHT


def _node_box(page: str, node_id: str) -> str:
    """The tree's box for one node, with the problems listed under it."""
    found = re.search(rf'<a class="node[^"]*" id="tree-{node_id}".*?(?=<a class="node|</section>)', page, re.S)
    assert found, f"no box for {node_id} in the flow tree"
    return found.group(0)


def test_the_flow_tree_marks_a_missing_target_and_an_unreachable_node(admin, web_box):
    daemon, _ = web_box
    form = admin.get("/config/flow").text
    assert 'id="flow-tree"' in form and 'href="#group-flow.nodes.menu"' in form
    # The schedule's closed branch now goes to "busy", so nothing leads to after_hours; key 9 leads nowhere.
    reply = admin.post("/config/flow", data={
        "csrf_token": csrf_token(form), "flow.nodes.hours.closed": "busy",
        "flow.nodes.menu.keys": "1=legal, 2=psychology, 3=message, 0=anyone, 9=nowhere"})
    assert reply.status_code == 400
    page = reply.text
    menu = _node_box(page, "menu")
    assert 'class="node bad"' in menu and "missing node &#39;nowhere&#39;" in menu
    assert "menu: Keys (key = where it leads): 9" in unescape(re.search(r'title="([^"]*)"', menu).group(1))
    orphan = _node_box(page, "after_hours")
    assert 'class="node warn"' in orphan and "unreachable" in orphan  # advice, not an error
    assert page.index("Not reachable from the start") < page.index('id="tree-after_hours"')
    # Drawn once each: "thanks" is reached from three nodes, the others point back at it.
    assert page.count('id="tree-thanks"') == 1 and page.count('href="#tree-thanks"') >= 2
    assert 'class="node"' in _node_box(page, "welcome")  # a clean node is not red
    assert daemon.core.flow["hours"].closed == "after_hours"  # nothing was applied


def _added(diff: str) -> list[str]:
    return [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]


def test_a_click_on_a_calendar_day_makes_it_a_holiday_through_a_revision(web_app, admin, web_box):
    daemon, _ = web_box
    page = admin.get("/config/schedule").text
    first = re.search(r'<button name="day" value="(\d{4}-\d{2}-\d{2})" class="day open"', page).group(1)
    assert len(re.findall(r'<table class="calendar"', page)) == 2  # this month and the next
    store = web_app.extensions["web_store"]
    assert admin.post("/config/schedule/day", data={"csrf_token": csrf(admin), "day": first}).status_code == 302
    latest = store.latest_revision()
    added = [line.strip() for line in _added(latest["diff"])]
    assert "holidays = [" in added and f'"{first}",' in added, latest["diff"]
    assert date.fromisoformat(first) in daemon.config.schedule.holidays
    page = admin.get("/config/schedule").text
    assert re.search(rf'value="{first}" class="day holiday"', page)
    # A second click makes it a working day again, as a new revision.
    admin.post("/config/schedule/day", data={"csrf_token": csrf(admin), "day": first})
    assert store.latest_revision()["id"] == latest["id"] + 1
    assert date.fromisoformat(first) not in daemon.config.schedule.holidays
    assert admin.post("/config/schedule/day", data={"csrf_token": csrf(admin), "day": "2026-02-30"}).status_code == 400


def test_an_imported_calendar_adds_days_or_names_its_bad_lines_and_changes_nothing(web_app, admin, web_box):
    store = web_app.extensions["web_store"]
    before = store.latest_revision()["id"]
    reply = admin.post("/config/schedule/import", data={
        "csrf_token": csrf(admin), "kind": "holiday", "dates": "2031-01-02\n2031-13-01\n# moved\n05-09\nsoon"})
    assert reply.status_code == 400
    assert "line 2: &#39;2031-13-01&#39;" in reply.text and "line 5: &#39;soon&#39;" in reply.text
    assert "2031-01-02\n2031-13-01" in reply.text  # what was typed stays in the box
    assert store.latest_revision()["id"] == before
    reply = admin.post("/config/schedule/import", data={
        "csrf_token": csrf(admin), "kind": "special", "hours": "10:00-16:00", "dates": "2031-01-04\n2031-01-05"})
    assert reply.status_code == 302
    document = tomllib.loads(store.latest_revision()["toml"])
    assert document["schedule"]["special_days"] == {"2031-01-04": ["10:00-16:00"], "2031-01-05": ["10:00-16:00"]}
    reply = admin.post("/config/schedule/import", data={"csrf_token": csrf(admin), "kind": "special",
                                                        "hours": "10:00-16:00", "dates": "05-09"})
    assert reply.status_code == 400 and "needs the year" in reply.text


@pytest.fixture
def quiet_box(tmp_path):
    """A web app over a calls.db with known calls and no daemon: 3 calls at 09:xx, 1 at 14:xx on one day."""
    day = datetime(2030, 3, 5)
    store = CallStore(tmp_path / "calls.db")
    for n, (hour, minute) in enumerate([(9, 5), (9, 40), (9, 59), (14, 30)]):
        at = day.replace(hour=hour, minute=minute).timestamp()
        store.call_started(f"c{n}", "gsm1", "+79160000000", at)
        if n < 2:
            store.call_connected(f"c{n}", "h1", "Anna", at + 5)
    store.close()
    client = create_app(tmp_path, control_path=tmp_path / "none.sock").test_client()
    client.post("/setup", data={"username": "admin", "password": PASSWORD, "password2": PASSWORD, "lang": "en",
                                "csrf_token": csrf_token(client.get("/setup").text),
                                "setup_code": (tmp_path / "setup-code").read_text().strip()})
    return client


def test_statistics_draw_one_bar_per_hour_as_tall_as_its_calls(quiet_box):
    page = quiet_box.get("/stats?from=2030-03-05&to=2030-03-05").text
    svg = re.search(r'<figure class="chart" id="chart-hours">.*?</figure>', page, re.S).group(0)
    bars = re.findall(r'<rect class="bar calls"[^>]*height="([\d.]+)" data-value="(\d+)"><title>([^<]*)</title>', svg)
    assert len(bars) == 24
    heights = {title.split(":")[0]: float(height) for height, _value, title in bars}
    assert heights["09"] == PLOT_HEIGHT and heights["14"] == pytest.approx(PLOT_HEIGHT / 3)
    assert sum(1 for h in heights.values() if h) == 2
    assert "09: 3 calls" in svg and '<table id="per-hour">' in page
    answered = re.search(r'<figure class="chart" id="chart-answered">.*?</figure>', page, re.S).group(0)
    assert "03-05: 2 answered" in answered
    operators = re.search(r'<figure class="chart" id="chart-operators">.*?</figure>', page, re.S).group(0)
    assert "Anna: 2 answered" in operators
    assert '<figure class="chart small" id="chart-today">' in quiet_box.get("/").text


def test_the_console_searches_the_knowledge_base_while_a_call_is_live(admin):
    def api(path: str, body: dict | None = None) -> None:
        assert admin.post(path, json=body or {}, headers={"X-CSRF-Token": csrf(admin)}).status_code == 200

    def status() -> dict:
        return admin.get("/api/status").json

    admin.post("/kb/new", data={"csrf_token": csrf(admin), "title": "Sleep problems",
                                "body": "Suggest a regular bedtime and no screens an hour before.", "tags": "health"})
    api("/api/sim/call", {"caller": "+79165550199"})
    wait_until(lambda: any(c["node"] == "menu" for c in status()["calls"]), 15, "the menu")
    api("/api/sim/dtmf", {"digits": "2"})
    wait_until(lambda: any(h["id"] == "h2" and h["state"] == "ringing" for h in status()["handsets"]), 10, "h2 rings")
    api("/api/sim/handsets/h2/offhook")
    try:
        wait_until(lambda: any(c["state"] == "connected" for c in status()["calls"]), 10, "the call to connect")
        page = admin.get("/console?handset=h2&kb=bedtime").text
        assert 'id="current-call"' in page and "+79165550199" in page
        assert "Sleep problems" in page and "regular <mark>bedtime</mark>" in page
        assert 'name="handset" value="h2"' in page  # the next search stays on this handset
    finally:
        api("/api/sim/hangup")
        wait_until(lambda: not status()["calls"], 10, "the call to end")
        api("/api/sim/handsets/h2/onhook")


def test_the_schedule_form_sets_how_calls_are_taken_until_the_clock_is_set(admin, web_box):
    daemon, _ = web_box
    form = admin.get("/config/schedule").text
    assert 'name="schedule.when_time_unknown"' in form
    reply = admin.post("/config/schedule", data={"csrf_token": csrf_token(form),
                                                 "schedule.when_time_unknown": "closed"})
    assert reply.status_code == 302
    assert daemon.config.schedule.when_time_unknown == "closed"
    reply = admin.post("/config/schedule", data={"csrf_token": csrf_token(form), "schedule.when_time_unknown": "maybe"})
    assert reply.status_code == 400 and "schedule.when_time_unknown" in reply.text
    assert daemon.config.schedule.when_time_unknown == "closed"  # a bad value changes nothing
    admin.post("/config/schedule", data={"csrf_token": csrf_token(form), "schedule.when_time_unknown": "open"})
    assert daemon.config.schedule.when_time_unknown == "open"
