"""Who can get in and for how long: first-boot setup, sessions, redirects after login, the last admin.

The web app with no daemon behind it (none of this needs one), through Flask's test client, except
the setup race, which runs against a real waitress server.
"""

from __future__ import annotations

import http.cookiejar
import re
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

import pytest

from tests.support.waiting import wait_until
from tests.support.web_server import serving
from web import create_app

PASSWORD = "correct horse"


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _setup(client, data, username: str = "admin"):
    return client.post("/setup", data={"username": username, "password": PASSWORD, "password2": PASSWORD,
                                       "lang": "en", "csrf_token": _token(client.get("/setup").text),
                                       "setup_code": (data / "setup-code").read_text().strip()})


def _login(client, username: str = "admin", password: str = PASSWORD, next_: str | None = None):
    path = "/login" + (f"?next={next_}" if next_ else "")
    return client.post(path, data={"username": username, "password": password,
                                   "csrf_token": _token(client.get("/login").text)})


@pytest.fixture
def web(tmp_path):
    app = create_app(tmp_path, control_path=tmp_path / "none.sock")
    assert _setup(app.test_client(), tmp_path).status_code == 302
    return app, tmp_path


def _users_form(client, **fields):
    return client.post("/users", data={"csrf_token": _token(client.get("/users").text), **fields})


def _id_of(app, username: str) -> int:
    return app.extensions["web_store"].user_by_name(username)["id"]


# --- first boot -----------------------------------------------------------------------------------------------------

def test_setup_needs_the_code_the_box_prints_and_it_is_gone_afterwards(tmp_path):
    client = create_app(tmp_path).test_client()
    code_file = tmp_path / "setup-code"
    assert code_file.stat().st_mode & 0o777 == 0o600
    page = client.get("/setup").text
    wrong = client.post("/setup", data={"username": "mallory", "password": PASSWORD, "password2": PASSWORD,
                                        "lang": "en", "csrf_token": _token(page), "setup_code": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == 400 and "setup code" in wrong.text
    missing = client.post("/setup", data={"username": "mallory", "password": PASSWORD, "password2": PASSWORD,
                                          "lang": "en", "csrf_token": _token(page)})
    assert missing.status_code == 400
    assert client.get("/").headers["Location"].endswith("/setup")  # nobody was made
    code = code_file.read_text().strip()
    shown = subprocess.run([sys.executable, "-m", "appliance.cli", "setup-code", "--data", str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and shown.stdout.strip() == code
    typed = code.lower().replace("-", " ")  # as read aloud and typed: case and separators do not matter
    reply = client.post("/setup", data={"username": "admin", "password": PASSWORD, "password2": PASSWORD,
                                        "lang": "en", "csrf_token": _token(page), "setup_code": typed})
    assert reply.status_code == 302 and client.get("/").status_code == 200
    assert not code_file.exists()
    again = subprocess.run([sys.executable, "-m", "appliance.cli", "setup-code", "--data", str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "set up already" in again.stderr


def _browser(base: str):
    """An urllib opener with its own cookie jar and no redirect following: one browser."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)


def test_four_setups_racing_on_a_real_server_make_exactly_one_admin(tmp_path):
    app = create_app(tmp_path)
    with serving(app) as port:
        base = f"http://127.0.0.1:{port}"
        code = (tmp_path / "setup-code").read_text().strip()
        browsers = []
        for n in range(4):
            opener = _browser(base)
            page = wait_until(lambda o=opener: o.open(base + "/setup", timeout=10).read().decode(), 10, "setup page")
            browsers.append((opener, _token(page), f"admin{n}"))
        start, answers = threading.Barrier(4), []

        def set_up(opener, token, name):
            body = urllib.parse.urlencode({"username": name, "password": PASSWORD, "password2": PASSWORD,
                                           "lang": "en", "csrf_token": token, "setup_code": code}).encode()
            start.wait()
            try:
                reply = opener.open(base + "/setup", data=body, timeout=30)
            except urllib.error.HTTPError as exc:
                reply = exc
            answers.append((name, reply.status, reply.headers.get("Location", "")))

        threads = [threading.Thread(target=set_up, args=b) for b in browsers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        users = app.extensions["web_store"].users()
        assert len(users) == 1 and users[0]["role"] == "admin", users
        winners = [a for a in answers if a[2].endswith("/")]
        assert len(answers) == 4 and len(winners) == 1, answers
        assert all(a[2].endswith("/login") for a in answers if a not in winners), answers


# --- sessions -------------------------------------------------------------------------------------------------------

def test_a_deleted_users_cookie_does_not_open_the_next_users_account(web):
    app, _ = web
    admin = app.test_client()
    _login(admin)
    _users_form(admin, username="olga", password=PASSWORD, role="operator", lang="en")
    olga = app.test_client()
    assert _login(olga, "olga").status_code == 302 and olga.get("/").status_code == 200
    _users_form(admin, action="delete", id=str(_id_of(app, "olga")), confirmed="yes")
    _users_form(admin, username="sam", password=PASSWORD, role="supervisor", lang="en")
    reply = olga.get("/calls")  # a supervisor's page
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]


def _stolen_copy(app, client):
    """Another browser holding a copy of the client's session cookie (as a thief or a backup of it would)."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_cookie_stops_working_after_logout(web):
    app, _ = web
    admin = app.test_client()
    _login(admin)
    copy = _stolen_copy(app, admin)
    assert copy.get("/users").status_code == 200
    admin.post("/logout", data={"csrf_token": _token(admin.get("/").text)})
    assert copy.get("/users").status_code == 302


def test_a_password_reset_role_change_or_logout_everywhere_ends_the_users_other_sessions(web):
    app, data = web
    admin = app.test_client()
    _login(admin)
    _users_form(admin, username="olga", password=PASSWORD, role="supervisor", lang="en")
    olga_id = str(_id_of(app, "olga"))

    tablet = app.test_client()
    _login(tablet, "olga")
    _users_form(admin, action="update", id=olga_id, role="supervisor", lang="ru", password="")
    assert tablet.get("/calls").status_code == 200  # a change of language ends nothing
    _users_form(admin, action="update", id=olga_id, role="operator", lang="ru", password="", confirmed="yes")
    assert tablet.get("/console").status_code == 302  # demoted: log in again, as an operator now

    _login(tablet, "olga")
    _users_form(admin, action="update", id=olga_id, role="operator", lang="ru", password="new password 1")
    assert tablet.get("/console").status_code == 302
    assert _login(tablet, "olga").status_code == 401  # the old password is gone too

    _login(tablet, "olga", "new password 1")
    reset = subprocess.run([sys.executable, "-m", "appliance.cli", "user", "reset-password", "olga",
                            "--data", str(data)], input="new password 2\n", capture_output=True, text=True,
                           timeout=60)
    assert reset.returncode == 0, reset.stderr
    assert tablet.get("/console").status_code == 302
    assert _login(tablet, "olga", "new password 2").status_code == 302

    phone = app.test_client()
    _login(phone, "olga", "new password 2")
    tablet.post("/logout/everywhere", data={"csrf_token": _token(tablet.get("/console").text)})
    assert phone.get("/console").status_code == 302
    assert admin.get("/users").status_code == 200  # other users' sessions go on


def test_reset_password_names_a_missing_user_and_a_short_password_and_changes_nothing(web):
    app, data = web
    cli = [sys.executable, "-m", "appliance.cli", "user"]
    nobody = subprocess.run([*cli, "reset-password", "nobody", "--data", str(data)], input="long enough\n",
                            capture_output=True, text=True, timeout=60)
    assert nobody.returncode == 1 and "'nobody'" in nobody.stderr
    short = subprocess.run([*cli, "reset-password", "admin", "--data", str(data)], input="short\n",
                           capture_output=True, text=True, timeout=60)
    assert short.returncode == 1 and "at least 8" in short.stderr
    assert _login(app.test_client()).status_code == 302
    listed = subprocess.run([*cli, "list", "--data", str(data)], capture_output=True, text=True, timeout=60)
    assert listed.stdout.split() == ["admin", "admin"]


def test_sessions_end_after_idle_time_and_after_the_absolute_lifetime(web):
    app, _ = web
    now = [1_000_000.0]
    app.config["WALL_CLOCK"] = lambda: now[0]
    client = app.test_client()
    _login(client)
    for _ in range(10):  # in use all along: still in after twice the idle limit
        now[0] += app.config["SESSION_IDLE_SECONDS"] / 5
        assert client.get("/").status_code == 200
    now[0] += app.config["SESSION_IDLE_SECONDS"] + 1
    assert client.get("/").status_code == 302

    _login(client)
    started = now[0]
    while now[0] < started + app.config["SESSION_ABSOLUTE_SECONDS"] - 600:
        now[0] += 600
        assert client.get("/").status_code == 200
    now[0] = started + app.config["SESSION_ABSOLUTE_SECONDS"] + 1
    assert client.get("/").status_code == 302


# --- redirects, tokens, the last admin ------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0d%0a/evil.example", "/%5Cevil.example",
                                    "//evil.example", "https://evil.example/", "/%20/evil.example"])
def test_login_never_redirects_off_the_box(web, target):
    app, _ = web
    reply = _login(app.test_client(), next_=target)
    assert reply.status_code == 302 and reply.headers["Location"] == "/", reply.headers.get("Location")


def test_login_keeps_a_local_next_page(web):
    app, _ = web
    assert _login(app.test_client(), next_="/calls%3Fpage%3D2").headers["Location"] == "/calls?page=2"


def test_non_ascii_csrf_and_bearer_tokens_are_refused_not_a_server_error(web):
    app, _ = web
    stranger = app.test_client()
    stranger.get("/login")
    assert stranger.post("/login", data={"username": "admin", "password": PASSWORD,
                                         "csrf_token": "é☃"}).status_code == 403
    assert stranger.get("/api/status", headers={"Authorization": "Bearer é"}).status_code == 401
    admin = app.test_client()
    _login(admin)
    assert admin.post("/api/sim/handsets/h1/offhook", json={}, headers={"X-CSRF-Token": "ü"}).status_code == 403


def test_the_last_admin_cannot_demote_or_delete_themselves(web):
    app, _ = web
    admin = app.test_client()
    _login(admin)
    own = str(_id_of(app, "admin"))
    demote = _users_form(admin, action="update", id=own, role="operator", lang="en", password="")
    assert demote.status_code == 400 and "last admin" in demote.text
    assert app.extensions["web_store"].user_by_name("admin")["role"] == "admin"
    assert admin.get("/users").status_code == 200
    _users_form(admin, username="root2", password=PASSWORD, role="admin", lang="en")
    # With a second admin, stepping down is allowed; the second one cannot then be deleted as the last.
    assert _users_form(admin, action="update", id=own, role="supervisor", lang="en", password="",
                       confirmed="yes").status_code == 302
    other = app.test_client()
    _login(other, "root2")
    gone = _users_form(other, action="delete", id=str(_id_of(app, "root2")))
    assert gone.status_code == 400 and "your own" in gone.text


def test_an_older_web_db_is_upgraded_ids_are_not_reused_and_old_hashes_are_renewed(tmp_path):
    """A box set up before schema 3: users without AUTOINCREMENT, hashed with werkzeug's default."""
    import sqlite3

    from werkzeug.security import generate_password_hash

    with sqlite3.connect(tmp_path / "web.db") as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, password TEXT NOT NULL,"
                   " role TEXT NOT NULL, lang TEXT NOT NULL DEFAULT 'en', handset TEXT, created_at REAL NOT NULL)")
        # werkzeug's default, and the 16 MiB parameters this box used before 8 MiB ones (web/store.py)
        for name, role, method in (("admin", "admin", "scrypt:32768:8:1"), ("olga", "operator", "scrypt:16384:8:5")):
            db.execute("INSERT INTO users (username, password, role, created_at) VALUES (?, ?, ?, 0)",
                       [name, generate_password_hash(PASSWORD, method=method), role])
        db.execute("PRAGMA user_version = 2")
    app = create_app(tmp_path, control_path=tmp_path / "none.sock")
    store = app.extensions["web_store"]
    assert [u["username"] for u in store.users()] == ["admin", "olga"]
    assert not (tmp_path / "setup-code").exists()  # users exist: no setup code
    client = app.test_client()
    assert _login(client, "olga").status_code == 302
    assert store.user_by_name("olga")["password"].startswith("scrypt:8192:8:10$")
    assert _login(app.test_client(), "admin").status_code == 302
    assert store.user_by_name("admin")["password"].startswith("scrypt:8192:8:10$")
    assert _login(app.test_client(), "olga").status_code == 302  # the renewed hash still takes the password
    olga = store.user_by_name("olga")["id"]
    store.delete_user(olga)
    assert store.add_user("sam", PASSWORD, "supervisor") > olga
    assert client.get("/").status_code == 302  # olga's cookie opens nothing, sam's account least of all
