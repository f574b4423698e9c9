"""The knowledge base: admins write articles in web.db, everyone searches them with FTS5 (Russian too),
operators only read, and nothing an admin writes reaches the page as HTML."""

from __future__ import annotations

import re
import sqlite3

import pytest

from web import create_app

PASSWORD = "correct horse"


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _login(app, username: str):
    client = app.test_client()
    reply = client.post("/login", data={"username": username, "password": PASSWORD,
                                        "csrf_token": _token(client.get("/login").text)})
    assert reply.status_code == 302
    return client


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    """The web app with no daemon behind it (the knowledge base needs none), an admin and an operator."""
    data = tmp_path_factory.mktemp("kb")
    app = create_app(data, control_path=data / "none.sock")
    setup = app.test_client()
    setup.post("/setup", data={"username": "admin", "password": PASSWORD, "password2": PASSWORD, "lang": "en",
                               "csrf_token": _token(setup.get("/setup").text),
                               "setup_code": (data / "setup-code").read_text().strip()})
    app.extensions["web_store"].add_user("olga", PASSWORD, "operator", "ru")
    admin, operator = _login(app, "admin"), _login(app, "olga")
    for title, body, tags in [
        ("Eviction", "A landlord needs a court order before evicting a tenant.", "housing, legal"),
        ("Пенсия по инвалидности", "Заявление подают в Социальный фонд; нужна справка МСЭ.", "право"),
        ("Night shifts", "Operators on night shifts take a break every two hours.", "work"),
    ]:
        reply = admin.post("/kb/new", data={"csrf_token": _token(admin.get("/kb/new").text), "title": title,
                                            "body": body, "tags": tags})
        assert reply.status_code == 302, reply.text
    return app, admin, operator, data


def _titles(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r'<li><a href="/kb/\d+"[^>]*>(.*?)</a>', page)]


def test_full_text_search_finds_an_article_by_a_word_in_its_body(kb):
    _, admin, _, _ = kb
    page = admin.get("/kb/?kb=court").text
    assert _titles(page) == ["Eviction"]
    assert "needs a <mark>court</mark> order" in page
    assert _titles(admin.get("/kb/?kb=landlords").text) == []  # all words must match (as prefixes)
    assert _titles(admin.get("/kb/?kb=LANDLORD+tenant").text) == ["Eviction"]


def test_search_finds_russian_words_in_any_case(kb):
    _, _, operator, _ = kb
    page = operator.get("/kb/?kb=СПРАВКА").text
    assert _titles(page) == ["Пенсия по инвалидности"]
    assert "<mark>справка</mark> МСЭ" in page
    assert _titles(operator.get("/kb/?kb=пенси").text) == ["Пенсия по инвалидности"]  # a word's start matches
    assert "Поиск по базе знаний" in page  # her language


def test_the_console_searches_the_knowledge_base(kb):
    _, _, operator, _ = kb
    page = operator.get("/console?kb=break+hours").text
    assert 'id="knowledge"' in page and _titles(page) == ["Night shifts"]
    assert "take a <mark>break</mark> every two <mark>hours</mark>" in page
    assert "?!" not in page and operator.get("/console?kb=%3F%21").status_code == 200  # no words: said, not a crash


def test_an_operator_reads_but_cannot_write_articles(kb):
    app, admin, operator, data = kb
    csrf = _token(operator.get("/kb/").text)
    assert operator.post("/kb/new", data={"csrf_token": csrf, "title": "Mine", "body": "x"}).status_code == 403
    assert operator.get("/kb/new").status_code == 403
    article_id = int(re.search(r'href="/kb/(\d+)"', admin.get("/kb/?kb=eviction").text).group(1))
    assert operator.get(f"/kb/{article_id}").status_code == 200
    assert operator.post(f"/kb/{article_id}/edit", data={"csrf_token": csrf, "title": "x", "body": "y"}).status_code \
        == 403
    assert operator.post(f"/kb/{article_id}/delete", data={"csrf_token": csrf}).status_code == 403
    with sqlite3.connect(data / "web.db") as db:
        assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 3
        assert db.execute("SELECT title FROM articles WHERE id = ?", [article_id]).fetchone()[0] == "Eviction"
    # An admin's write without the form's token is refused too.
    assert admin.post(f"/kb/{article_id}/delete").status_code == 403


def test_html_in_an_article_is_escaped_everywhere(kb):
    _, admin, _, _ = kb
    body = 'Call <script>alert("x")</script> the <b>duty</b> lawyer & wait.'
    reply = admin.post("/kb/new", data={"csrf_token": _token(admin.get("/kb/new").text), "title": "<i>Duty</i>",
                                        "body": body, "tags": "<u>legal</u>"})
    page = admin.get(reply.headers["Location"]).text
    assert "<script>alert" not in page and "<b>duty</b>" not in page and "<i>Duty</i>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page and "&amp; wait" in page
    found = admin.get("/kb/?kb=duty+lawyer").text
    assert "<script>" not in found and "&lt;b&gt;<mark>duty</mark>&lt;/b&gt; <mark>lawyer</mark>" in found
    assert "&lt;i&gt;<mark>Duty</mark>&lt;/i&gt;" in found


def test_an_article_is_edited_and_deleted_and_search_follows(kb):
    _, admin, _, _ = kb
    article_id = int(re.search(r'href="/kb/(\d+)"', admin.get("/kb/?kb=night").text).group(1))
    edit = admin.get(f"/kb/{article_id}/edit").text
    reply = admin.post(f"/kb/{article_id}/edit", data={"csrf_token": _token(edit), "title": "Night shifts",
                                                       "body": "Operators rest every three hours.", "tags": "work"})
    assert reply.status_code == 302
    assert _titles(admin.get("/kb/?kb=break").text) == []
    assert _titles(admin.get("/kb/?kb=three").text) == ["Night shifts"]
    bad = admin.post(f"/kb/{article_id}/edit", data={"csrf_token": _token(edit), "title": "", "body": "x"})
    assert bad.status_code == 400 and "title" in bad.text
    admin.post(f"/kb/{article_id}/delete", data={"csrf_token": _token(edit)})
    assert _titles(admin.get("/kb/?kb=three").text) == []
    assert admin.get(f"/kb/{article_id}").status_code == 404
