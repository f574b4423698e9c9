"""Signing in is rate limited (fixed windows, bounded memory) and the app answers only to the box's own names."""

from __future__ import annotations

import re
import socket

import pytest

from web import create_app

PASSWORD = "correct horse"


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def app(tmp_path):
    app = create_app(tmp_path, control_path=tmp_path / "none.sock")
    app.extensions["web_store"].create_first_admin("admin", PASSWORD, "en")
    return app


def _attempt(app, address: str, username: str, password: str = "wrong password"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": _token(client.get("/login").text)})


def test_sign_in_attempts_have_a_per_address_and_a_global_limit_and_bounded_memory(app):
    app.config.update(SIGNIN_LIMIT_GLOBAL="12 per minute", SIGNIN_LIMIT_PER_CLIENT="4 per minute")
    # One address trying many names (no per-name lock applies) is stopped at its own limit ...
    codes = [_attempt(app, "192.0.2.1", f"guess{n}").status_code for n in range(6)]
    assert codes == [401] * 4 + [429] * 2
    refused = _attempt(app, "192.0.2.1", "admin", PASSWORD)
    assert refused.status_code == 429 and "try again" in refused.text
    # ... while others still get in, until all addresses together reach the global limit.
    assert _attempt(app, "192.0.2.2", "admin", PASSWORD).status_code == 302
    codes = [_attempt(app, f"198.51.100.{n}", f"user{n}").status_code for n in range(40)]
    assert codes == [401] * (12 - 8) + [429] * 36  # 8 attempts above, refused ones included, count globally
    assert _attempt(app, "203.0.113.9", "admin", PASSWORD).status_code == 429
    # Refused attempts cost no hash and leave no per-address or per-name entries behind.
    counters = app.extensions["signin_limiter"].counters
    assert len(counters) <= 12 * 3, len(counters)


def test_every_counter_goes_when_its_window_ends(app):
    limits = app.extensions["signin_limiter"]
    now = [600.0]
    limits.clock = lambda: now[0]
    for n in range(5):
        assert _attempt(app, f"192.0.2.{n}", "admin").status_code == 401
    assert len(limits.counters) == 1 + 5 + 5  # everyone, each address, each address and name
    now[0] += 59.9
    assert _attempt(app, "192.0.2.1", "admin").status_code == 401  # still the same minute: counted with the rest
    assert len(limits.counters) == 1 + 5 + 5
    now[0] += 0.1
    assert _attempt(app, "192.0.2.1", "admin", PASSWORD).status_code == 302
    assert sorted(key for _, key in limits.counters) == ["192.0.2.1", "everyone"]  # the last minute's are gone


def test_failed_logins_for_one_user_lock_that_address_and_name_only(app):
    for _ in range(5):
        assert _attempt(app, "192.0.2.7", "admin").status_code == 401
    assert _attempt(app, "192.0.2.7", "admin", PASSWORD).status_code == 429
    assert _attempt(app, "192.0.2.8", "admin", PASSWORD).status_code == 302  # the admin elsewhere is not locked out


def _own_lan_address() -> str | None:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            return probe.getsockname()[0]
    except OSError:
        return None


def test_only_the_boxs_own_names_and_addresses_are_answered(tmp_path):
    app = create_app(tmp_path, control_path=tmp_path / "none.sock", trusted_hosts=["hotline.example.org"])
    client = app.test_client()
    hostname = socket.gethostname()
    good = ["localhost", "localhost:8080", "127.0.0.1", "127.0.0.1:443", "[::1]:8443", hostname,
            f"{hostname}.local", f"{hostname.upper()}.local:80", "hotline.example.org"]
    if _own_lan_address():
        good.append(_own_lan_address())
    for host in good:
        assert client.get("/setup", headers={"Host": host}).status_code == 200, host
    for host in ["evil.example", "evil.example:80", "203.0.113.7", "[2001:db8::1]", "0.0.0.0", "localhost.evil.example",
                 f"{hostname}.evil.example", "", "[::1"]:
        reply = client.get("/setup", headers={"Host": host})
        assert reply.status_code == 400, host
        assert client.get("/api/status", headers={"Host": host}).status_code == 400, host
