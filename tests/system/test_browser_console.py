"""The operator console on a tablet and a phone, as a new operator in English and in Russian, against a real
`hotline simulate`: the ringing caller shows by itself while the handset rings, before the receiver is lifted,
every control is a 44 px touch target, states are words, and the caller's history reads whole words at 1280,
800 and 390 px."""

from __future__ import annotations

import time

import pytest

from tests.support.browser import (
    CHROMIUM,
    SMALL_TARGETS,
    call_at,
    csrf,
    new_operator,
    no_calls,
    shot,
    sim_api,
)
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM),
                                                   reason=f"{CHROMIUM} is not installed (CI installs it)")]

# (user, language, handset, the menu key that rings it, caller, the words the ringing call shows in)
OPERATORS = [("anna", "en", "h1", "1", "+79161110001", "Ringing"),
             ("boris", "ru", "h2", "2", "+79161110002", "Звонит")]
SIZES = [(1280, 800), (800, 1280), (390, 844)]
NOTE = ("Asked about a disability pension: the certificate from the medical commission is ready, "
        "the application goes to the Social Fund office; call back after lunch. Спрашивала о пенсии по инвалидности.")


# Stamps the moment the ringing call appears in the page (the operator's view), not when the test next looks.
SHOWN_AT = """() => { window.shownAt = null;
  new MutationObserver(() => { if (!window.shownAt && document.querySelector('#current-call[data-state="ringing"]'))
    window.shownAt = Date.now(); }).observe(document.body, {childList: true, subtree: true}); }"""

# Every word of the history table whose letters lie on more than one line: a word broken in the middle.
BROKEN_WORDS = """() => { const broken = [];
  for (const td of document.querySelectorAll('#caller-history td')) {
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT); let node;
    while ((node = walker.nextNode())) {
      for (const m of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange(); range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push(m[0]);
      } } }
  return broken; }"""


def _ringing(base, data, handset: str) -> bool:
    return next(h for h in sim_api(base, data, "/api/status")["handsets"] if h["id"] == handset)["state"] == "ringing"


def _history(base, data, admin_page, caller: str) -> None:
    """An earlier call from this caller, with a long note: the history the operator should read."""
    call = call_at(base, data, caller)
    admin_page.goto(base + "/")
    reply = admin_page.request.post(base + f"/calls/{call['id']}/notes",
                                    form={"text": NOTE, "call_type": "data", "csrf_token": csrf(admin_page)})
    assert reply.ok, reply.text()
    sim_api(base, data, "/api/sim/hangup", {})
    no_calls(base, data)


@pytest.mark.parametrize(("user", "lang", "handset", "key", "caller", "ringing_words"), OPERATORS)
def test_the_ringing_caller_shows_on_the_console_before_the_receiver_is_lifted(
        simulate_box, browser, admin_page, user, lang, handset, key, caller, ringing_words):
    from playwright.sync_api import expect

    base, _, data = simulate_box
    no_calls(base, data)
    _history(base, data, admin_page, caller)
    pages = [new_operator(browser, base, user, lang, size, admin_page) for size in SIZES]
    for page in pages:
        page.goto(base + f"/console?handset={handset}")
        expect(page.locator("#no-call")).to_be_visible()
        page.evaluate(SHOWN_AT)
    call = call_at(base, data, caller)
    # From the key that rings the handset (the ring starts after it): not from when this test's poll of the
    # status saw it ringing, which is served from the web's status kept up to a second (web/link.py) and so
    # stamped the ring late by as much as the consoles' own polls were.
    pressed = time.time()  # wall clock: the browser's Date.now() on this same machine stamps the other end
    sim_api(base, data, "/api/sim/dtmf", {"digits": key})
    wait_until(lambda: _ringing(base, data, handset), 10, f"{handset} to ring")
    shown = []
    for page in pages:
        page.wait_for_selector(f'#current-call[data-call="{call["id"]}"][data-state="ringing"]', timeout=5000)
        shown.append(page.evaluate("window.shownAt"))
    # Stamped by the watcher put in each page before the call: the page showed the ring by itself, not reloaded.
    assert None not in shown, f"a console was reloaded to show the ringing call: {shown}"
    # How soon is a figure to read, not a verdict here (it measures the machine too: 1.19 s once in CI at
    # three workers on 2 cores). What the operator needs is the call on screen while the bell still rings.
    print(f"console shows the ringing call {', '.join(f'{t / 1000 - pressed:.2f}' for t in shown)} s after the key "
          f"({lang})")
    assert _ringing(base, data, handset), "the console must show the call while the handset still rings"
    for page, (width, height) in zip(pages, SIZES, strict=True):
        card = page.locator("#current-call")
        expect(card.locator("#call-state")).to_contain_text(ringing_words)
        expect(card.locator("#caller")).to_contain_text("***")  # masked, as the privacy rule shows it to operators
        expect(card.locator("#caller")).to_contain_text(caller[-2:])
        expect(card.locator("#menu-path")).to_contain_text(key)
        expect(card.locator("#history-count")).to_have_text("1")
        expect(page.locator("#caller-history")).to_contain_text("Social Fund")
        shot(page, f"console-ringing-{lang}-{width}x{height}")

    sim_api(base, data, f"/api/sim/handsets/{handset}/offhook", {})
    for page, (width, height) in zip(pages, SIZES, strict=True):
        expect(page.locator("#current-call")).to_have_attribute("data-state", "connected")
        state = page.locator("#my-state").inner_text()
        assert "_" not in state and state.strip(), f"the operator's state reads {state!r}"
        assert not page.evaluate(SMALL_TARGETS), f"below 44 px at {width}x{height}: {page.evaluate(SMALL_TARGETS)}"
        assert not page.evaluate(BROKEN_WORDS), f"words broken at {width}x{height}: {page.evaluate(BROKEN_WORDS)}"
        scroll, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= window, f"the console is {scroll} px wide in a {window} px window"
        shot(page, f"console-call-{lang}-{width}x{height}")
    sim_api(base, data, "/api/sim/hangup", {})
    sim_api(base, data, f"/api/sim/handsets/{handset}/onhook", {})
    no_calls(base, data)
    for page in pages:
        expect(page.locator("#no-call")).to_be_visible()
        page.context.close()
