"""A Russian-speaking admin at 800 px (a small laptop, a tablet on its side), in headless Chromium: the dashboard
with a line down and the clock not set, the users page and the alert log read in Russian, and no table makes
them scroll sideways. Screenshots: tests/screenshots/ru-800-*.png."""

from __future__ import annotations

import os

import pytest

from appliance import config as configuration
from tests.support.boxes import simulated_box
from tests.support.browser import CHROMIUM, PASSWORD, shot
from tests.support.status import loop_status
from tests.support.waiting import wait_until
from tests.support.web import set_up
from tests.support.web_server import serving
from tests.system.test_web_russian import english
from web import create_app

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed (CI installs it)")]

# Elements wider than their box (a table scrolling sideways), and the page itself wider than the window.
SIDEWAYS = """() => [document.documentElement, ...document.querySelectorAll('main table')]
  .filter((e) => e.scrollWidth > e.clientWidth + 1)
  .map((e) => (e.id || e.tagName) + ' ' + e.scrollWidth + '>' + e.clientWidth)"""


def test_a_russian_admin_at_800_px_reads_the_dashboard_users_and_alerts_without_scrolling_sideways(
        tmp_path, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("HOTLINE_TIMESYNC_FILE", str(tmp_path / "never-synchronised"))  # booted, no NTP yet
    data = tmp_path / "data"
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Привет.") for name, spec in document["prompts"].items()}
    document["alerts"] = [{"event": "line_down", "recipients": ["+79990000001"], "channel": "sms"}]
    with simulated_box(data, document) as (daemon, simulation):
        app = create_app(data, control_path=daemon.control_path)
        assert set_up(app.test_client(), data, lang="ru").status_code == 302
        for name in ("Анна Сергеевна", "Борис Петрович", "supervisor-night"):
            app.extensions["web_store"].add_user(name, PASSWORD, "operator", lang="ru")
        simulation.emulators["gsm1"].unplug()  # the modem's USB cable pulled: the line goes down
        wait_until(lambda: loop_status(daemon)["lines"][0]["state"] == "down", 15, "the line down")
        with serving(app) as port, sync_playwright() as p:
            base = f"http://127.0.0.1:{port}"
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_context(viewport={"width": 800, "height": 1280}, locale="ru-RU").new_page()
            page.goto(base + "/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")

            line = page.locator("#lines tbody tr").first.locator("td").nth(1)
            expect(line).to_contain_text("связь с модемом потеряна", timeout=15000)
            expect(page.locator("#alarms")).to_contain_text("(как открыто)")  # [schedule] when_time_unknown
            expect(page.locator("#alarms")).to_contain_text("Оповещения сейчас не отправляются", timeout=15000)
            assert "'open'" not in page.locator("#alarms").inner_text()
            shot(page, "ru-800-dashboard")
            seen = {"/": (english(page.content()), page.evaluate(SIDEWAYS))}

            wait_until(lambda: "line_down" in {a["event"] for a in _alerts(data)}, 15, "the line-down alert logged")
            for path in ("/users", "/alerts"):
                page.goto(base + path)
                shot(page, "ru-800" + path.replace("/", "-"))
                seen[path] = (english(page.content()), page.evaluate(SIDEWAYS))
            browser.close()
    # the signal's unit and the network's own name (MTS RUS) are data the modem reports, as a number is
    words = {path: [w for w in found if w not in ("-73 dBm", "MTS RUS")] for path, (found, _) in seen.items()}
    assert {path: found for path, found in words.items() if found} == {}, "English on a Russian page"
    assert {path: wide for path, (_, wide) in seen.items() if wide} == {}, "scrolls sideways at 800 px"


def _alerts(data) -> list[dict]:
    import sqlite3

    conn = sqlite3.connect(f"file:{data / 'calls.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM alerts")]
    finally:
        conn.close()
