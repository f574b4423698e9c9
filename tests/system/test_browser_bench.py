"""The bench as a training room, as a new operator in English and in Russian, against a real `hotline simulate`:
the call in progress reads in words (its state, where it is in the flow, the words of the prompt the caller
hears), and "Caller speaks" leaves a voicemail from the browser. At 1280x800 (acting) and 800x1280 (watching)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import appliance
from tests.support.browser import CHROMIUM, SMALL_TARGETS, new_operator, no_calls, shot, sim_api
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                                   reason=f"{CHROMIUM} is not installed (CI installs it)")]

PROMPTS = tomllib.loads((Path(appliance.__file__).parent / "config/defaults/simulate.toml").read_text())["prompts"]
# (user, language, the language key, prompt suffix, the state word "in the menu", "Recording", "speaks",
#  "silence", "leaving a message")
TRAINEES = [("anna", "en", "1", "", "in the menu", "Recording", "speaks for 5 s", "silence", "leaving a message"),
            ("boris", "ru", "2", "_ru", "в меню", "Идёт запись", "говорит 5 с", "тишина", "оставляет сообщение")]


def _node(base, data, node: str):
    return lambda: next((c for c in sim_api(base, data, "/api/status")["calls"] if c["node"] == node), None)


@pytest.mark.parametrize(("user", "lang", "language_key", "suffix", "in_menu", "recording", "speaks", "silence",
                          "leaving"), TRAINEES)
def test_a_training_call_reads_in_words_and_the_caller_leaves_a_voicemail(
        simulate_box, browser, admin_page, user, lang, language_key, suffix, in_menu, recording, speaks, silence,
        leaving):
    from playwright.sync_api import expect

    base, _, data = simulate_box
    no_calls(base, data)
    page, watcher = (new_operator(browser, base, user, lang, size, admin_page) for size in ((1280, 800), (800, 1280)))
    for p in (page, watcher):
        p.goto(base + "/bench")
        expect(p.locator("#bench-idle")).to_be_visible()

    caller = "+7916222000" + language_key
    page.fill("#caller", caller)
    page.click("#call")
    expect(page.locator("#bench-result")).to_contain_text(caller)
    wait_until(_node(base, data, "language"), 20, "the language choice")
    page.click(f'[data-key="{language_key}"]')
    call = wait_until(_node(base, data, "menu"), 20, "the menu")
    for p in (page, watcher):
        expect(p.locator("#bench-state")).to_contain_text(in_menu)
        expect(p.locator("#bench-node")).to_have_text("menu")
        expect(p.locator("#bench-path")).to_have_text("—")  # the language key is not a menu choice
        expect(p.locator("#bench-hears")).to_have_text(PROMPTS["main_menu" + suffix]["text"])
        assert "{" not in p.locator("main").inner_text(), "the bench shows raw JSON"
        assert not p.evaluate(SMALL_TARGETS), f"below 44 px: {p.evaluate(SMALL_TARGETS)}"
    shot(page, f"bench-menu-{lang}-1280x800")
    shot(watcher, f"bench-menu-{lang}-800x1280")
    # The menu's words end and the box waits for a key: the caller hears silence, and so does the trainee.
    expect(page.locator("#bench-hears")).to_contain_text(silence, timeout=30000)
    shot(page, f"bench-menu-ended-{lang}-1280x800")

    page.click('[data-key="3"]')  # to leave a message
    expect(page.locator("#bench-node")).to_have_text("message")
    expect(page.locator("#bench-hears")).to_have_text(PROMPTS["record_message" + suffix]["text"])
    expect(page.locator("#bench-path")).to_have_text("3")
    shot(page, f"bench-message-{lang}-1280x800")
    expect(page.locator("#bench-hears")).to_contain_text(recording, timeout=20000)  # after the tone
    expect(page.locator("#bench-state")).to_contain_text(leaving)  # not "in the menu"
    page.click("#speak")
    expect(page.locator("#bench-result")).to_contain_text(speaks)
    shot(watcher, f"bench-recording-{lang}-800x1280")
    # The recording ends by itself after the caller falls silent; the flow thanks them and hangs up.
    expect(page.locator("#bench-idle")).to_be_visible(timeout=30000)
    no_calls(base, data)
    record = next(c for c in sim_api(base, data, "/api/calls")["calls"] if c["id"] == call["id"])
    assert record["outcome"] == "voicemail", record
    assert (data / "voicemail" / f"{call['id']}.flac").stat().st_size > 1000
    for p in (page, watcher):
        p.context.close()
