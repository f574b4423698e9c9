"""The web page refuses what `hotline check` and the daemon refuse (a misspelt key, a value the hardware
cannot take), in the daemon's words, read in Russian on a Russian admin's page."""

from __future__ import annotations

import copy
import re

import pytest
import tomli_w

from appliance import config as configuration
from tests.support.web import PASSWORD, csrf, csrf_token, login


@pytest.fixture(scope="module")
def russian_admin(web_app):
    """Vera, an admin whose pages are in Russian."""
    root = web_app.test_client()
    assert login(root).status_code == 302
    root.post("/users", data={"csrf_token": csrf(root), "action": "add", "username": "vera",
                              "password": PASSWORD, "role": "admin", "lang": "ru"})
    vera = web_app.test_client()
    assert login(vera, "vera").status_code == 302
    return vera


def _words(page: str) -> str:
    """The page's text as read: the admin's own values are marked up as data (translate="no")."""
    return re.sub(r"<[^>]+>", "", page)


def _toml_page_refuses(client, document: dict) -> str:
    page = client.get("/config/toml").text
    reply = client.post("/config/toml", data={"csrf_token": csrf_token(page), "toml": tomli_w.dumps(document)})
    assert reply.status_code == 200
    return reply.text


def test_the_web_page_refuses_a_misspelt_key_with_the_same_words_in_english_and_russian(web_app, admin, russian_admin):
    store = web_app.extensions["web_store"]
    document = copy.deepcopy(configuration.default_document())
    document["lines"][0]["baud_rate"] = 9600
    admin.get("/config/toml")  # the first visit keeps the running config as revision 1
    before = store.latest_revision()
    page = _toml_page_refuses(admin, document)
    assert "unknown key; did you mean <span translate=\"no\">baudrate</span>?" in page
    assert "baud_rate" in page
    assert store.latest_revision() == before  # nothing saved, nothing applied
    # An admin who reads Russian sees the same refusal in Russian.
    page = _toml_page_refuses(russian_admin, document)
    assert "неизвестный ключ; может быть, <span translate=\"no\">baudrate</span>?" in page
    assert store.latest_revision() == before


def test_the_web_page_refuses_a_handset_the_daemon_could_not_build(web_app, admin, russian_admin):
    # A SLIC ringing at 200 Hz used to be saved here and stop the daemon at its next start.
    store = web_app.extensions["web_store"]
    document = copy.deepcopy(configuration.default_document())
    document["handsets"][1] = {"id": "h2", "operator": "Boris", "kind": "slic", "ring_mode_pin": 5, "fr_pin": 6,
                               "hook_pin": 26, "audio_pins": {"gsm1": 13}, "ring_hz": 200}
    admin.get("/config/toml")
    before = store.latest_revision()
    page = _toml_page_refuses(admin, document)
    assert "handsets[1].ring_hz" in page and "must be a number from 15 to 60" in _words(page)
    assert store.latest_revision() == before
    assert "должно быть число от 15 до 60" in _words(_toml_page_refuses(russian_admin, document))


def test_a_pin_typed_in_the_handsets_form_is_refused_in_russian_with_the_daemon_s_rule(web_app, russian_admin):
    store = web_app.extensions["web_store"]
    russian = russian_admin
    page = russian.get("/config/handsets").text
    before = store.latest_revision()
    reply = russian.post("/config/handsets", data={"csrf_token": csrf_token(page), "handsets[0].ring_pin": "28"})
    assert reply.status_code == 400
    assert "не вывод GPIO: укажите номер BCM 0–27" in _words(reply.text)
    assert store.latest_revision() == before
