"""A signed-in browser's polls: the session is checked on a connection each server thread keeps (opening web.db
for every request was half of a poll's CPU), the cookie is not signed and sent again with every answer, and a
web.db put back by a restore is read afresh (a session it does not hold opens nothing)."""

from __future__ import annotations

import http.client
import os
import shutil

from tests.support.web import PASSWORD, csrf_token
from tests.support.web_server import serving
from web import create_app


def _ask(port: int, path: str, cookie: str = "", body: str = "") -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request("POST" if body else "GET", path, body=body or None, headers=headers)
        reply = conn.getresponse()
        return reply.status, reply.read().decode(), reply.getheader("Set-Cookie") or ""
    finally:
        conn.close()


def _sign_in(port: int) -> str:
    _, page, first = _ask(port, "/login")
    form = f"username=boss&password={PASSWORD.replace(' ', '+')}&csrf_token={csrf_token(page)}"
    status, _, cookie = _ask(port, "/login", first.split(";", 1)[0], form)
    assert status == 302
    return cookie.split(";", 1)[0]


def test_polls_send_no_new_cookie_and_a_restored_web_db_is_read_afresh(tmp_path):
    app = create_app(tmp_path, control_path=tmp_path / "none.sock")
    app.extensions["web_store"].add_user("boss", PASSWORD, "supervisor")
    shutil.copy(tmp_path / "web.db", tmp_path / "before.db")  # a backup taken before anyone signed in
    with serving(app) as port:
        cookie = _sign_in(port)
        _, _, first_page = _ask(port, "/calls", cookie)  # the first page after signing in makes its CSRF token
        cookie = first_page.split(";", 1)[0] or cookie
        for _ in range(4):  # each of the 4 threads may serve one
            status, _, set_cookie = _ask(port, "/calls", cookie)
            assert status == 200
            assert set_cookie == "", "the session cookie was signed and sent again with a poll's answer"
        os.replace(tmp_path / "before.db", tmp_path / "web.db")  # a restore puts the backup's web.db in place
        for _ in range(4):
            status, _, _ = _ask(port, "/calls", cookie)
            assert status == 302, "a session the restored web.db does not hold still opened pages"
