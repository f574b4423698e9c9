"""Fixtures of the browser tests: a real `hotline simulate` process and headless Chromium, one of each per module."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest

from tests.support import prompt_seed
from tests.support.browser import CHROMIUM
from tests.support.processes import stop
from tests.support.waiting import free_port, wait_until


@pytest.fixture(scope="module")
def simulate_box(tmp_path_factory):
    """`hotline simulate` as a user starts it: (its base URL, its status over the API, its data directory)."""
    port, data = free_port(), tmp_path_factory.mktemp("sim")
    prompt_seed.seed(data)
    proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "simulate", "--port", str(port),
                             "--data", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def api_status():
        if not (data / "api-token").exists():
            return None
        token = (data / "api-token").read_text().strip()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return json.loads(resp.read())
        except OSError:
            return None

    try:
        wait_until(api_status, 60, "hotline simulate to answer")  # 69 prompts render first: 10-15 s under load
        prompt_seed.keep(data)
        yield f"http://127.0.0.1:{port}", api_status, data
    finally:
        out, _ = stop(proc, 15)
        assert proc.returncode == 0, out


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()
