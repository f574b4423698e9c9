"""An admin sees the box's alarms on the dashboard: `hotline simulate` on a small data disk, in headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from appliance.service import control
from tests.support.processes import stop
from tests.support.storage_faults import Filler, tiny_filesystem
from tests.support.waiting import free_port, wait_until

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed (CI installs it)")]


def test_the_dashboard_shows_a_small_then_full_data_disk(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    data = tmp_path / "data"
    with tiny_filesystem(data, 24):
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "simulate", "--port", str(port),
                                 "--data", str(data)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_until(lambda: (data / "setup-code").exists() and (data / "control.sock").exists(), 30,
                       "hotline simulate to start")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox",
                                                                            "--disable-gpu"])
                page = browser.new_page()
                base = f"http://127.0.0.1:{port}"
                page.goto(base + "/")
                page.fill("input[name=setup_code]", (data / "setup-code").read_text().strip())
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", PASSWORD)
                page.fill("input[name=password2]", PASSWORD)
                page.click("button[type=submit]")

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
            try:
                out, _ = stop(proc, 20)
            finally:
                Filler(data).free()
        assert proc.returncode == 0, out
