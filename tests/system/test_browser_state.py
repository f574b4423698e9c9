"""An admin in Chromium, in English and in Russian: forcing the hotline closed shows on the dashboard with who
and until when, and still does after a restart; deleting a user and reverting a revision ask on a page first."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.browser import CHROMIUM, PASSWORD, shot, simulating

ZONE = "Europe/Moscow"  # the simulated box's [schedule] timezone
WORDS = {
    "en": {"closed": "Forced closed", "by": "by admin", "until": "until", "message": "The hotline is forced closed.",
           "delete": "Delete the user olga", "deleted": "User olga deleted.", "revert": "Revert the config to revision",
           "added": "User olga added."},
    "ru": {"closed": "Закрыто принудительно", "by": "включил(а) admin", "until": "до",
           "message": "Горячая линия закрыта принудительно.", "delete": "Удалить пользователя olga",
           "deleted": "Пользователь olga удалён.", "revert": "Вернуть настройки к версии",
           "added": "Пользователь olga добавлен."},
}

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed (CI installs it)")]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_forced_closed_shows_and_survives_a_restart_and_deletions_and_reverts_ask_first(tmp_path, lang):
    from playwright.sync_api import expect, sync_playwright

    words = WORDS[lang]
    data = tmp_path / "data"
    until = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=1)).replace(hour=18, minute=30, second=0, microsecond=0)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        with simulating(data) as base:
            page.goto(base + "/")
            page.fill("input[name=setup_code]", (data / "setup-code").read_text().strip())
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.fill("input[name=password2]", PASSWORD)
            page.select_option("select[name=lang]", lang)
            page.click("button[type=submit]")

            page.goto(base + "/config/schedule")
            page.fill("#override input[name=until]", until.strftime("%Y-%m-%dT%H:%M"))
            page.click("#override button[value=closed]")
            expect(page.locator(".flash.info").first).to_contain_text(words["message"])
            page.goto(base + "/")
            opening = page.locator("#opening")
            expect(opening).to_contain_text(words["closed"])
            expect(opening).to_contain_text(words["by"])
            expect(opening).to_contain_text(f"{words['until']} {until:%Y-%m-%d %H:%M}")  # the box's clock
            shot(page, f"state-dashboard-forced-{lang}")

            page.goto(base + "/users")
            page.fill("input[name=username]", "olga")
            page.fill("form.inline input[name=password]", PASSWORD)
            page.click("button[value=add]")
            expect(page.locator(".flash.info").first).to_contain_text(words["added"])
            row = page.locator("tr", has_text="olga")
            row.locator("button[value=delete]").click()
            expect(page.locator("#question")).to_contain_text(words["delete"])
            shot(page, f"state-confirm-delete-{lang}")
            page.click("#confirm button[name=confirmed]")
            expect(page.locator(".flash.info").first).to_contain_text(words["deleted"])

            page.goto(base + "/config/toml")  # a second revision, so there is one to go back to
            text = page.input_value("textarea[name=toml]")
            page.fill("textarea[name=toml]", text.replace('name = "Helpline"', 'name = "Helpline 2"', 1))
            page.click("form:has(textarea[name=toml]) button")
            page.goto(base + "/config/revisions")
            page.locator("section.revision form button").first.click()
            expect(page.locator("#question")).to_contain_text(words["revert"])
            expect(page.locator("pre.diff")).to_contain_text('name = "Helpline"')
            shot(page, f"state-confirm-revert-{lang}")
            page.click("#cancel")
        with simulating(data) as base:  # stopped and started again: what the admin forced still holds
            page.goto(base + "/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("#opening")).to_contain_text(words["closed"])
            expect(page.locator("#opening")).to_contain_text(f"{until:%Y-%m-%d %H:%M}")
            shot(page, f"state-dashboard-after-restart-{lang}")
        browser.close()
