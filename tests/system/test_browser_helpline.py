"""The helpline's new pages in Chromium against a real `hotline simulate`, each walked in English then Russian:
the alerts page (sent log, the relay's password kept as a 0600 file, where alerts reach a user); a text
conversation answered from the console (escaped hostile text, canned and typed replies, statistics); a risk flag
shown while the phone still rings, and a handover note the next shift must acknowledge."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from appliance.records.store.alerts import AlertLog
from tests.support.browser import CHROMIUM, call_at, csrf, new_operator, no_calls, shot, sim_api
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                                   reason=f"{CHROMIUM} is not installed (CI installs it)")]


def _language(page, base: str, lang: str) -> None:
    page.request.post(base + "/me/language", form={"lang": lang, "csrf_token": csrf(page)})


# The words of the matched elements that the browser broke across two lines ("отправлен / о").
BROKEN_WORDS = """cells => cells.flatMap(cell => {
  const broken = [], walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of node.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(word[0]);
    }
  }
  return broken;
})"""


def test_an_admin_reads_the_sent_log_sets_the_relay_password_and_a_contact(simulate_box, admin_page):
    from playwright.sync_api import expect

    base, _, data = simulate_box
    log = AlertLog(data / "calls.db")  # as the daemon's alert sender logs them
    log.add({"rule": 0, "event": "voicemail", "channel": "email", "recipient": "duty@example.org",
             "subject": "Helpline: <b>New voicemail</b>", "body": "x", "attachment": "voicemail/x.flac",
             "state": "sent", "created_at": 1.7e9, "due_at": 1.7e9, "attempts": 1})
    log.add({"rule": 1, "event": "line_down", "channel": "sms", "recipient": "+79990001111", "subject": None,
             "body": "x", "state": "queued", "created_at": 1.7e9, "due_at": 1.7e9, "attempts": 3,
             "last_error": "no line is up to send the SMS from"})
    log.close()
    _language(admin_page, base, "en")
    admin_page.goto(base + "/")
    admin_page.click("nav >> text=Alerts")
    rows = admin_page.locator("#alerts tbody tr")
    expect(rows.nth(1)).to_contain_text("Helpline: <b>New voicemail</b>")  # markup shown as typed, not obeyed
    expect(rows.nth(1)).to_contain_text("sent")
    expect(rows.nth(0)).to_contain_text("no line is up to send the SMS from")
    expect(admin_page.locator("#password-state")).to_have_text("No password is set.")
    admin_page.fill("input[name=password]", "relay secret 1")
    admin_page.click("#save-password")
    expect(admin_page.locator(".flash")).to_contain_text("password is saved")
    secret = data / "smtp-password"
    assert secret.read_text().strip() == "relay secret 1" and stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert "relay secret 1" not in admin_page.content()
    contact = admin_page.locator("#contacts tbody tr").first
    contact.locator("input[name=email]").fill("not-an-address")
    contact.locator("input[name=phone]").fill("+79990002222")
    contact.locator("button").click()  # the browser's own check refuses the address: nothing is sent
    assert contact.locator("input[name=email]").evaluate("e => e.validity.valid") is False
    contact.locator("input[name=email]").fill("admin@example.org")
    contact.locator("button").click()
    expect(admin_page.locator(".flash")).to_have_text("Saved.")
    expect(admin_page.locator("#contacts input[name=phone]").first).to_have_value("+79990002222")
    shot(admin_page, "alerts-en")

    _language(admin_page, base, "ru")
    admin_page.goto(base + "/alerts")
    expect(admin_page.locator("h2").first).to_have_text("Журнал отправки")
    expect(admin_page.locator("#alerts tbody tr").nth(1)).to_contain_text("отправлено")
    expect(admin_page.locator("#alerts tbody tr").nth(0)).to_contain_text("линия недоступна")
    expect(admin_page.locator("#alerts tbody tr").nth(0)).to_contain_text("Не было ни одной рабочей линии")
    admin_page.set_viewport_size({"width": 800, "height": 1280})  # a tablet upright
    assert admin_page.locator("main td, main th").evaluate_all(BROKEN_WORDS) == []
    shot(admin_page, "alerts-ru-800")
    admin_page.set_viewport_size({"width": 1280, "height": 800})
    expect(admin_page.locator("#password-state")).to_have_text("Пароль задан.")
    admin_page.locator("#contacts tbody tr").first.locator("input[name=phone]").fill("12")
    admin_page.locator("#contacts tbody tr").first.locator("button").click()
    expect(admin_page.locator(".flash")).to_contain_text("не номер телефона")
    shot(admin_page, "alerts-ru")
    _language(admin_page, base, "en")


HOSTILE = "<b>help</b>\x07 me"


def test_a_text_conversation_goes_back_and_forth_from_the_console(simulate_box, admin_page):
    from playwright.sync_api import expect

    base, _, data = simulate_box
    _language(admin_page, base, "en")
    sim_api(base, data, "/api/sim/sms", {"sender": "+79165550101", "text": HOSTILE})
    admin_page.goto(base + "/console")
    admin_page.click("#console-texts a")
    row = admin_page.locator("#conversations tbody tr").filter(has_text="help")
    expect(row).to_contain_text("<b>help</b>␇ me", timeout=10000)  # escaped, the bell made visible
    expect(row.locator("b")).to_have_count(0)
    row.locator("a").click()
    admin_page.select_option("#canned", index=1)
    admin_page.click("#send")
    expect(admin_page.locator(".flash")).to_contain_text("Reply sent.")
    expect(admin_page.locator("#messages li.text-out")).to_contain_text("An operator will answer you here shortly")
    sim_api(base, data, "/api/sim/sms", {"sender": "+79165550101", "text": "thank you"})
    wait_until(lambda: admin_page.reload() or "thank you" in admin_page.locator("#messages").inner_text(), 15,
               "the caller's second text on the page")
    shot(admin_page, "texts-en")

    _language(admin_page, base, "ru")
    admin_page.reload()
    admin_page.fill("#reply", "Мы рядом. Напишите, что случилось.")
    admin_page.click("#send")
    expect(admin_page.locator(".flash")).to_have_text("Ответ отправлен.")
    expect(admin_page.locator("#messages li.text-out").last).to_contain_text("Мы рядом.")
    shot(admin_page, "texts-ru")
    admin_page.click("#close")
    expect(admin_page.locator(".flash")).to_have_text("Переписка закрыта.")
    admin_page.goto(base + "/stats")
    expect(admin_page.locator("#texts")).to_contain_text("Получено SMS")
    expect(admin_page.locator("#texts tr").filter(has_text="Отправлено SMS")).to_contain_text("2")
    _language(admin_page, base, "en")


RISKY = "+79165550202"


def _ringing(base, data, handset: str) -> bool:
    return next(h for h in sim_api(base, data, "/api/status")["handsets"] if h["id"] == handset)["state"] == "ringing"


def _ring_h1(base, data, caller: str) -> None:
    call_at(base, data, caller)
    sim_api(base, data, "/api/sim/dtmf", {"digits": "1"})
    wait_until(lambda: _ringing(base, data, "h1"), 15, "h1 to ring")


def test_a_risk_flag_shows_while_the_phone_rings_and_the_next_shift_acknowledges_the_handover(
        simulate_box, browser, admin_page):
    from playwright.sync_api import expect

    base, _, data = simulate_box
    _language(admin_page, base, "en")
    no_calls(base, data)
    _ring_h1(base, data, RISKY)
    admin_page.goto(base + "/console?handset=h1")
    expect(admin_page.locator("#current-call")).to_have_attribute("data-state", "ringing")
    expect(admin_page.locator("#risk-flag")).to_have_count(0)
    box, label = admin_page.locator("#risk").bounding_box(), admin_page.locator("label:has(#risk)").bounding_box()
    words = admin_page.locator("label:has(#risk)").evaluate(  # where the label's words are drawn
        "l => { const r = document.createRange(); r.selectNodeContents(l); r.setStartAfter(l.querySelector('input'));"
        " const b = r.getBoundingClientRect(); return {x: b.x, y: b.y, height: b.height}; }")
    middle = words["y"] + words["height"] / 2
    assert box["y"] <= middle <= box["y"] + box["height"] and words["x"] >= box["x"] + box["width"], (box, words)
    assert label["height"] >= 44  # the whole line is a fingertip's target on the tablet console
    admin_page.check("#risk")
    admin_page.fill("#risk-reason", "spoke of ending it")
    admin_page.fill("#safety-plan-text", "Sister Olga, +79160000009; crisis centre on Lenina 5")
    admin_page.click("#risk-save")
    expect(admin_page.locator(".flash").first).to_have_text("Risk and safety plan saved.")
    sim_api(base, data, "/api/sim/hangup", {})
    no_calls(base, data)

    _language(admin_page, base, "ru")
    admin_page.goto(base + "/console?handset=h1")
    _ring_h1(base, data, RISKY)  # the console swaps the ringing call in by itself
    expect(admin_page.locator("#risk-flag")).to_contain_text("В группе риска: spoke of ending it", timeout=10000)
    expect(admin_page.locator("#safety-plan")).to_contain_text("crisis centre on Lenina 5")
    assert _ringing(base, data, "h1"), "the flag must show while the handset still rings"
    shot(admin_page, "risk-ringing-ru")
    sim_api(base, data, "/api/sim/hangup", {})
    no_calls(base, data)

    olga = new_operator(browser, base, "olga", "en", (1280, 800), admin_page)  # on the next shift
    admin_page.goto(base + "/handover")
    admin_page.fill("#handover-text", "Caller +7916…0202 is at risk: call back at 9.")
    admin_page.click("#handover-save")
    expect(admin_page.locator(".flash").first).to_contain_text("Записка сохранена")
    expect(admin_page.locator("#handover-pending")).to_have_count(0)  # one's own note asks nothing of oneself
    olga.reload()
    expect(olga.locator("#handover-pending")).to_contain_text("call back at 9")
    olga.goto(base + "/texts")
    expect(olga.locator("#handover-pending")).to_contain_text("call back at 9")  # on every page until read
    olga.click("#handover-pending button.ack")
    expect(olga.locator("#handover-pending")).to_have_count(0)
    shot(olga, "handover-acknowledged-en")
    olga.context.close()
    admin_page.goto(base + "/handover")
    expect(admin_page.locator("#handover-notes li").first.locator(".acks")).to_contain_text("olga")
    _language(admin_page, base, "en")


def test_the_queue_forms_handover_whisper_box_sits_where_its_field_starts_and_saves(simulate_box, admin_page):
    """A Russian admin at 800 px ticks "say who is coming" on the queue's form: the box is at the start of the
    field's column (not centred in it, away from its words), and the save says so in Russian."""
    from playwright.sync_api import expect

    base, _, _data = simulate_box
    _language(admin_page, base, "ru")
    admin_page.set_viewport_size({"width": 800, "height": 1280})
    try:
        admin_page.goto(base + "/config/queue")
        box = admin_page.locator("#f-queue\\.handover_whisper")
        words = admin_page.locator("label[for='f-queue.handover_whisper']")
        expect(words).to_contain_text("Передача")
        where, label = box.bounding_box(), words.bounding_box()
        # Right after its words, its own size: a box stretched over the column is drawn in the column's middle.
        assert where["width"] < 50 and where["x"] - (label["x"] + label["width"]) < 30, (where, label)
        box.check()
        admin_page.click("#save")
        expect(admin_page.locator(".flash").first).to_contain_text("Сохранено как версия")
        expect(admin_page.locator("#f-queue\\.handover_whisper")).to_be_checked()
        assert admin_page.locator("main").evaluate_all(BROKEN_WORDS) == []
        shot(admin_page, "config-queue-ru-800")
    finally:
        admin_page.set_viewport_size({"width": 1280, "height": 800})
        _language(admin_page, base, "en")
