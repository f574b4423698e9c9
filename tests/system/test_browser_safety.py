"""What an admin and an operator see without reloading, and what asks before it acts, in Chromium against a real
`hotline simulate`, in English and Russian: the dashboard's open/closed line follows a force made in another tab;
"Block this number" asks on a page first; the top bar's links and buttons are 44 px touch targets on a tablet, and
no table header or button breaks a word in the middle there."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, PASSWORD, SCREENSHOTS, call_at, csrf, no_calls, shot, sim_api

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                                   reason=f"{CHROMIUM} is not installed (CI installs it)")]

WORDS = {
    "en": {"closed": "Forced closed", "open": "Forced open", "hours": "(by the hours)", "by": "by admin",
           "ask": "Block this caller for a week?", "blocked": "The caller is blocked until"},
    "ru": {"closed": "Закрыто принудительно", "open": "Открыто принудительно", "hours": "(по расписанию)",
           "by": "включил(а) admin", "ask": "Заблокировать абонента на неделю?", "blocked": "Абонент заблокирован до"},
}
# Every link and button of the top bar narrower or lower than a fingertip (44 px), with its size.
SMALL_IN_TOP_BAR = """() => [...document.querySelectorAll('body > nav a, body > nav button')]
  .filter((e) => e.offsetParent !== null)
  .map((e) => { const r = e.getBoundingClientRect();
                return [e.id || e.textContent.trim().slice(0, 20), Math.round(r.width), Math.round(r.height)]; })
  .filter(([, w, h]) => w < 44 || h < 44)"""

SMALL_IN_CONFIRM = SMALL_IN_TOP_BAR.replace("body > nav a, body > nav button", "#confirm button, #confirm a")


def _admin_in(browser, base: str, lang: str, size: tuple[int, int]):
    """The admin signed in, in `lang`, at this size (a context of its own: the language is the user's)."""
    page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    page.request.post(base + "/me/language", form={"lang": lang, "csrf_token": csrf(page)})
    page.reload()
    return page


def _force(page, base: str, mode: str) -> None:
    reply = page.request.post(base + "/config/schedule/override", form={"mode": mode, "until": "",
                                                                        "csrf_token": csrf(page)})
    assert reply.ok, reply.status


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_dashboard_follows_a_force_made_elsewhere_without_a_reload(simulate_box, browser, admin_page, lang):
    from playwright.sync_api import expect

    base, _, _data = simulate_box
    words = WORDS[lang]
    watcher = _admin_in(browser, base, lang, (800, 1280))
    opening = watcher.locator("#opening")
    expect(opening).to_contain_text(words["hours"])
    watcher.evaluate("window.notReloaded = true")
    try:
        _force(admin_page, base, "closed")  # another tab, another admin
        expect(opening).to_contain_text(words["closed"], timeout=8000)
        expect(opening).to_contain_text(words["by"])
        expect(opening).to_contain_text(words["closed"])
        shot(watcher, f"safety-dashboard-forced-live-{lang}-800x1280")
        _force(admin_page, base, "open")
        expect(opening).to_contain_text(words["open"], timeout=8000)
        _force(admin_page, base, "follow")
        expect(opening).to_contain_text(words["hours"], timeout=8000)
        assert watcher.evaluate("window.notReloaded === true"), "the page was reloaded"
    finally:
        _force(admin_page, base, "follow")
        watcher.context.close()


def _blocklist(data: Path) -> list:
    """The blocklist in the box's config file (none is written until the first save)."""
    path = data / "config.toml"
    return tomllib.loads(path.read_text()).get("callers", {}).get("blocked", []) if path.exists() else []


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_block_this_number_asks_first_and_cancel_blocks_nobody(simulate_box, browser, admin_page, lang):
    from playwright.sync_api import expect

    base, _, data = simulate_box
    words = WORDS[lang]
    no_calls(base, data)
    page = _admin_in(browser, base, lang, (800, 1280))
    caller = "+7916333000" + ("1" if lang == "en" else "2")
    call = call_at(base, data, caller)
    try:
        page.goto(base + f"/calls/{call['id']}")
        page.select_option("#block-form select[name=days]", "7")
        page.click("#block-button")
        expect(page.locator("#question")).to_contain_text(words["ask"])
        shot(page, f"safety-block-confirm-{lang}-800x1280")
        answers = page.evaluate(SMALL_IN_CONFIRM)
        assert not answers, f"the confirmation's answers are below 44 px: {answers}"
        before = _blocklist(data)
        assert not any(e.get("note") == f"call {call['id']}" for e in before), "blocked before anyone said yes"
        page.click("#cancel")
        expect(page.locator("#block-form")).to_be_visible()
        assert _blocklist(data) == before, "Cancel blocked the caller"
        page.click("#block-button")
        page.click("#confirm button[name=confirmed]")
        expect(page.locator(".flash.info", has_text=words["blocked"])).to_be_visible()
        assert any(e.get("note") == f"call {call['id']}" for e in _blocklist(data))
        assert caller not in (data / "config.toml").read_text()
    finally:
        sim_api(base, data, "/api/sim/hangup", {})
        no_calls(base, data)
        page.context.close()


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("size", [(800, 1280), (1280, 800)])
def test_the_top_bar_is_touch_sized_on_a_tablet(simulate_box, browser, admin_page, lang, size):  # admin: set up
    base, _, _data = simulate_box
    page = _admin_in(browser, base, lang, size)
    try:
        for path in ("/", "/console", "/bench", "/config/"):
            page.goto(base + path)
            small = page.evaluate(SMALL_IN_TOP_BAR)
            assert not small, f"{path} at {size[0]}x{size[1]}: below 44 px: {small}"
            scroll, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert scroll <= window, f"{path} is {scroll} px wide in a {window} px window"
        shot(page, f"safety-top-bar-{lang}-{size[0]}x{size[1]}")
    finally:
        page.context.close()


# Every word of a table header or a button whose letters lie on more than one line: a word broken in the middle.
BROKEN_IN_HEADERS = """() => { const broken = [];
  for (const cell of document.querySelectorAll('main th, main button')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT); let node;
    while ((node = walker.nextNode())) {
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange(); range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push(m[0]);
      } } }
  return broken; }"""


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_headers_and_buttons_keep_whole_words_on_a_tablet(simulate_box, browser, admin_page, lang):
    base, _, _data = simulate_box
    page = _admin_in(browser, base, lang, (800, 1280))
    try:
        for path in ("/users", "/config/flow", "/calls", "/stats", "/operators", "/tokens"):
            page.goto(base + path)
            broken = page.evaluate(BROKEN_IN_HEADERS)
            assert not broken, f"{path} at 800x1280 breaks words in the middle: {broken}"
        page.goto(base + "/users")
        shot(page, f"safety-users-{lang}-800x1280")
    finally:
        page.context.close()


# Every visible control of the page's main part smaller than a fingertip (44 px; a tick box 28 px, its label is
# part of the target), with its size.
SMALL_CONTROLS = """() => [...document.querySelectorAll(
    'main button, main select, main input:not([type=hidden])')]
  .filter((e) => e.offsetParent !== null)
  .map((e) => { const r = e.getBoundingClientRect(), least = e.type === 'checkbox' || e.type === 'radio' ? 28 : 44;
                return [e.name || e.id || e.textContent.trim().slice(0, 20), Math.round(r.width),
                        Math.round(r.height), least]; })
  .filter(([, w, h, least]) => w < least || h < least)"""


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_control_is_touch_sized_on_a_touch_screen(simulate_box, browser, admin_page, lang):
    """On a tablet (a touch screen at 800x1280) the admin's pages, not only the console, have 44 px controls."""
    base, _, _data = simulate_box
    page = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True).new_page()
    try:
        page.goto(base + "/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/")
        page.request.post(base + "/me/language", form={"lang": lang, "csrf_token": csrf(page)})
        small = {}
        for path in ("/users", "/backup", "/config/handsets", "/config/schedule", "/config/flow", "/calls", "/stats",
                     "/privacy", "/tokens"):
            page.goto(base + path)
            found = page.evaluate(SMALL_CONTROLS)
            if found:
                small[path] = found[:6]
        page.goto(base + "/config/handsets")
        SCREENSHOTS.mkdir(exist_ok=True)  # the window only: a full-page capture drops the touch emulation
        page.screenshot(path=str(SCREENSHOTS / f"safety-touch-handsets-{lang}-800x1280.png"))
        assert not small, "below a fingertip on a touch screen:\n" + "\n".join(f"{p}: {f}" for p, f in small.items())
    finally:
        page.context.close()
