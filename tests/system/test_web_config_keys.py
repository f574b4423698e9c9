"""The web page refuses a misspelt config key as `hotline check` does, with the same words, in Russian too."""

from __future__ import annotations

import copy

import tomli_w

from appliance import config as configuration
from tests.system.test_web import PASSWORD, _csrf, _login, _token, admin, app, box  # noqa: F401 (fixtures)


def _toml_page_refuses(client, document: dict) -> str:
    page = client.get("/config/toml").text
    reply = client.post("/config/toml", data={"csrf_token": _token(page), "toml": tomli_w.dumps(document)})
    assert reply.status_code == 200
    return reply.text


def test_the_web_page_refuses_a_misspelt_key_with_the_same_words_in_english_and_russian(app, admin, box):  # noqa: F811
    store = app.extensions["web_store"]
    document = copy.deepcopy(configuration.default_document())
    document["lines"][0]["baud_rate"] = 9600
    admin.get("/config/toml")  # the first visit keeps the running config as revision 1
    before = store.latest_revision()
    page = _toml_page_refuses(admin, document)
    assert "unknown key; did you mean <span translate=\"no\">baudrate</span>?" in page
    assert "baud_rate" in page
    assert store.latest_revision() == before  # nothing saved, nothing applied
    # An admin who reads Russian sees the same refusal in Russian.
    admin.post("/users", data={"csrf_token": _csrf(admin), "action": "add", "username": "vera",
                               "password": PASSWORD, "role": "admin", "lang": "ru"})
    russian = app.test_client()
    assert _login(russian, "vera").status_code == 302
    page = _toml_page_refuses(russian, document)
    assert "неизвестный ключ; может быть, <span translate=\"no\">baudrate</span>?" in page
    assert store.latest_revision() == before
