"""An admin sees the box's alarms on the dashboard: `hotline simulate` on a small data disk, in headless Chromium."""

from __future__ import annotations

import os

import pytest

from appliance.service import control
from tests.support.browser import CHROMIUM, logged_in, simulating
from tests.support.storage_faults import Filler, tiny_filesystem
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed (CI installs it)")]


def test_the_dashboard_shows_a_small_then_full_data_disk(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    data = tmp_path / "data"
    with tiny_filesystem(data, 24):
        try:
            with simulating(data, ready=lambda _: (data / "setup-code").exists() and (data / "control.sock").exists(),
                            timeout=30) as base, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox",
                                                                            "--disable-gpu"])
                page = browser.new_page()
                logged_in(page, base, data)  # the first-boot page makes the admin

                alarms = page.locator("#alarms-box")
                expect(alarms).to_be_visible()
                expect(alarms).to_contain_text("MB free of 24 MB")  # disk.low: under 100 MB free

                # its prompts are made after READY=1: a disk filled while their temporary files exist would
                # have their room back once they are renamed or dropped, and not be full when the caller rings
                wait_until(lambda: control.call(data / "control.sock", "status")["prompts_made"], 120,
                           "the box's prompts to be made")
                Filler(data).fill()
                page.goto(base + "/bench")  # a simulated caller rings while the disk is full
                page.fill("#caller", "+79161112233")
                page.click("#call")
                page.goto(base + "/")
                expect(page.locator("#alarms-box li.error")).to_contain_text("call records cannot be written",
                                                                              timeout=15000)
                browser.close()
        finally:
            Filler(data).free()
