"""Password hashes are made and checked in a helper process: the web process never loads OpenSSL nor holds a
hash's 8 MiB, old hashes still verify, and a helper that dies gives a clear page, not a crash."""

from __future__ import annotations

import http.client
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.processes import stop
from tests.support.waiting import free_port, wait_until
from tests.support.web import PASSWORD, csrf_token, login
from web import create_app, passwords
from web.store import WebStore

OLD_PBKDF2 = "pbkdf2:sha256:600000"  # werkzeug's default before scrypt, on boxes set up long ago


def _ask(port: int, method: str, path: str, body: str = "", cookie: str = "") -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body or None, headers=headers)
        reply = conn.getresponse()
        return reply.status, reply.read().decode(), reply.getheader("Set-Cookie") or ""
    finally:
        conn.close()


def _sign_in(port: int, username: str) -> int:
    status, page, set_cookie = _ask(port, "GET", "/login")
    assert status == 200
    form = f"username={username}&password={PASSWORD.replace(' ', '+')}&csrf_token={csrf_token(page)}"
    return _ask(port, "POST", "/login", form, set_cookie.split(";", 1)[0])[0]


def _memory(pid: int) -> tuple[float, str]:
    """(VmHWM in MB, the process's mapped files)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024, Path(f"/proc/{pid}/maps").read_text()


def test_the_web_process_signs_people_in_without_openssl_or_a_hashs_memory(tmp_path):
    store = WebStore(tmp_path / "web.db")
    store.add_user("admin", PASSWORD, "admin")
    store.add_user("olga", "a placeholder password", "operator")
    with sqlite3.connect(tmp_path / "web.db") as db:  # a user whose hash the box made years ago
        from werkzeug.security import generate_password_hash

        db.execute("UPDATE users SET password = ? WHERE username = 'olga'",
                   [generate_password_hash(PASSWORD, method=OLD_PBKDF2)])
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "appliance.cli", "web", "--data", str(tmp_path), "--port",
                            str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _reachable(port), 30, "the web page")
        idle_peak, maps = _memory(web.pid)
        assert "libssl" not in maps and "libcrypto" not in maps, "the idle web process has OpenSSL loaded"
        assert _sign_in(port, "admin") == 302
        assert _sign_in(port, "olga") == 302  # the old pbkdf2 hash still takes the password...
        assert store.user_by_name("olga")["password"].startswith(passwords.PASSWORD_HASH + "$")  # ...and is renewed
        peak, maps = _memory(web.pid)
        assert "libssl" not in maps and "libcrypto" not in maps, "signing in loaded OpenSSL into the web process"
        assert peak - idle_peak < 6, f"signing in took the web process's peak from {idle_peak:.1f} to {peak:.1f} MB"
    finally:
        stop(web, 15)


def _reachable(port: int) -> bool:
    try:
        return _ask(port, "GET", "/login")[0] == 200
    except OSError:
        return False


def test_a_helper_that_dies_gives_a_clear_page_and_signing_in_works_once_it_runs_again(tmp_path, monkeypatch):
    app = create_app(tmp_path, control_path=tmp_path / "none.sock")
    app.extensions["web_store"].add_user("admin", PASSWORD, "admin")
    dying = tmp_path / "dying-python"
    dying.write_text("#!/bin/sh\nkill -9 $$\n")  # as the kernel's OOM killer would end it
    dying.chmod(0o755)
    monkeypatch.setattr(passwords, "INTERPRETER", str(dying))
    refused = login(app.test_client())
    assert refused.status_code == 503
    assert "Passwords cannot be checked right now" in refused.text and "killed by signal 9" in refused.text
    monkeypatch.setattr(passwords, "INTERPRETER", str(tmp_path / "no-such-python"))
    refused = login(app.test_client())
    assert refused.status_code == 503 and "could not start" in refused.text
    monkeypatch.setattr(passwords, "INTERPRETER", sys.executable)
    assert login(app.test_client()).status_code == 302
