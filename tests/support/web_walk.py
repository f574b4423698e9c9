"""A signed-in browser walking every page of a web process over real HTTP (no Flask test client: the process may be
`hotline web` itself), for the tests and the bench that need every page to have been served once."""

from __future__ import annotations

import http.client
import re
import time
import urllib.parse
from collections.abc import Iterator

from web.forms import SECTIONS

# Every page a signed-in admin can open without an argument, in the order of the menu, and each config section.
PAGES = ("/", "/console", "/bench", "/calls", "/stats", "/callbacks", "/voicemail", "/sms", "/texts", "/kb/",
         "/kb/new", "/handover", "/fleet", "/operators", "/config/", *(f"/config/{name}" for name in SECTIONS),
         "/config/toml", "/config/revisions", "/alerts", "/speech", "/backup", "/users", "/tokens", "/privacy",
         "/audit", "/calls.csv", "/api/status", "/api/dashboard", "/api/calls", "/api/fleet")


class Browser:
    """One browser on 127.0.0.1:`port`: its session cookie, and no redirect followed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            text = reply.read().decode("utf-8", "replace")
            received = dict(reply.getheaders())
        finally:
            conn.close()
        if "Set-Cookie" in received:
            self.cookie = received["Set-Cookie"].split(";", 1)[0]
        return reply.status, text, received

    def sign_in(self, username: str, password: str) -> None:
        status, page, _ = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert status == 200 and token, f"the login page answered {status}"
        status, _, headers = self.request("POST", "/login", {"username": username, "password": password,
                                                             "csrf_token": token.group(1)})
        assert status == 302 and not headers["Location"].endswith("/login"), f"signing in answered {status}"

    def walk(self, pages: tuple[str, ...] = PAGES) -> Iterator[tuple[str, int, str, float]]:
        """(page, status, body, seconds) for each page, one after another."""
        for page in pages:
            began = time.perf_counter()
            status, body, _ = self.request("GET", page)
            yield page, status, body, time.perf_counter() - began
