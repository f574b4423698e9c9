"""Fixtures of the browser tests: a real `hotline simulate` process and headless Chromium, one of each per module."""

from __future__ import annotations

import pytest

from tests.support import prompt_seed
from tests.support.browser import CHROMIUM, api_status, signed_in_admin, simulating


@pytest.fixture(scope="module")
def simulate_box(tmp_path_factory):
    """`hotline simulate` as a user starts it: (its base URL, its status over the API, its data directory)."""
    data = tmp_path_factory.mktemp("sim")
    prompt_seed.seed(data)
    with simulating(data) as base:  # 69 prompts render first: 10-15 s under load
        prompt_seed.keep(data)
        yield base, lambda: api_status(base, data), data


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


@pytest.fixture(scope="module")
def admin_page(simulate_box, browser):
    """The admin signed in to the module's box (made on the first-boot page if there is none yet), at 1280x800."""
    base, _, data = simulate_box
    with signed_in_admin(browser, base, data) as page:
        yield page
