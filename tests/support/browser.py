"""Driving the web page in headless Chromium (Playwright): `hotline simulate` started as a user starts it, where
Chromium is, the admin signed in, screenshots."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.processes import stop
from tests.support.waiting import free_port, wait_until

CHROMIUM = "/usr/bin/chromium"


SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"  # tests/screenshots, git-ignored


PASSWORD = "correct horse"


@contextmanager
def simulating(data: Path, *options: str, ready: Callable[[str], Any] | None = None,
               timeout: float = 60.0) -> Iterator[str]:
    """`hotline simulate` (daemon and web page) on `data`, with more `options` (`--config FILE`); yields its
    address once ready(address) is true, by default once its API answers. Stopped as systemd stops it
    (SIGTERM), it must exit 0."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "simulate", "--port", str(port),
                             "--data", str(data), *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        wait_until(lambda: (ready or (lambda b: api_status(b, data)))(base), timeout, "hotline simulate to answer")
        yield base
    finally:
        out, _ = stop(proc, 20)  # killed (AssertionError) if it does not stop: it never outlives the test
    assert proc.returncode == 0, out


def api_status(base: str, data: Path) -> dict | None:
    """The box's status over its API, or None while it does not answer yet."""
    if not (data / "api-token").exists():
        return None
    try:
        return sim_api(base, data, "/api/status")
    except OSError:
        return None


@contextmanager
def signed_in_admin(browser, base: str, data: Path, size: tuple[int, int] = (1280, 800)) -> Iterator[Any]:
    """The admin signed in (made on the first-boot page first when there is none yet), in a context of its own."""
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
    try:
        logged_in(page, base, data)
        yield page
    finally:
        page.context.close()


def csrf(page) -> str:
    return page.locator('meta[name="csrf-token"]').get_attribute("content")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def logged_in(page, base: str, data: Path) -> None:
    page.goto(base + "/login")
    if page.url.endswith("/setup"):  # run on its own, before the end-to-end test made the admin
        page.fill("input[name=setup_code]", (data / "setup-code").read_text().strip())
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password2]", PASSWORD)
    else:
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


SMALL_TARGETS = """() => [...document.querySelectorAll(
    'main button, main input:not([type=hidden]), main select, main textarea')]
  .filter((e) => e.offsetParent !== null)
  .map((e) => { const r = (e.type === 'checkbox' || e.type === 'radio') && e.closest('label')
                  ? e.closest('label').getBoundingClientRect()  // a tick box is touched anywhere on its label
                  : e.getBoundingClientRect();
                return [e.name || e.id || e.textContent.trim().slice(0, 20),
                        Math.round(r.width), Math.round(r.height)]; })
  .filter(([, w, h]) => w < 44 || h < 44)"""


def sim_api(base: str, data, path: str, body: dict | None = None):
    token = (data / "api-token").read_text().strip()
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def no_calls(base, data) -> None:
    """Until the box has no call in progress; at the timeout, the message names the calls it still had."""
    seen: list = []

    def none_left() -> bool:
        seen[:] = sim_api(base, data, "/api/status")["calls"]
        return not seen

    try:
        wait_until(none_left, 15, "no call in progress")
    except AssertionError as timed_out:
        # Once in CI under load, with nothing more said: which call, in what state, is what to look into.
        raise AssertionError(f"{timed_out}; still in progress: {seen}") from None


def new_operator(browser, base, user: str, lang: str, size: tuple[int, int], admin) -> object:
    """A new operator's account (made by the admin on the users page) and their signed-in page at this size."""
    listed = admin.goto(base + "/users")
    if user not in (listed.text() if listed else ""):
        admin.request.post(base + "/users", form={"username": user, "password": PASSWORD, "role": "operator",
                                                  "lang": lang, "action": "add", "csrf_token": csrf(admin)})
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def call_at(base, data, caller: str, node: str = "menu") -> dict:
    """A simulated caller rings and is followed until they reach `node`; their call as the status shows it."""
    sim_api(base, data, "/api/sim/call", {"caller": caller})
    return wait_until(lambda: next((c for c in sim_api(base, data, "/api/status")["calls"]
                                    if c["caller"] == caller and c["node"] == node), None), 20, f"{caller} at {node}")
