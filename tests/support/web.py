"""Driving the web app the way a browser does: the CSRF token from a page, first-boot setup, signing in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PASSWORD = "correct horse"


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on `page`."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def csrf(client: Any) -> str:
    """A CSRF token for a signed-in client (every page carries one)."""
    return csrf_token(client.get("/").text)


def set_up(client: Any, data: Path, username: str = "admin", password: str = PASSWORD, lang: str = "en") -> Any:
    """First boot: the setup page makes the first admin, with the setup code the box wrote to `data`."""
    return client.post("/setup", data={"username": username, "password": password, "password2": password,
                                       "lang": lang, "csrf_token": csrf_token(client.get("/setup").text),
                                       "setup_code": (data / "setup-code").read_text().strip()})


def login(client: Any, username: str = "admin", password: str = PASSWORD) -> Any:
    token = csrf_token(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def routes(app: Any) -> Iterator[tuple[Any, str]]:
    """(rule, method) for every route of `app` but its static files, HEAD and OPTIONS."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def api(client, path: str, body: dict | None = None) -> dict:
    """POST to a JSON endpoint as the page's script does; the answer, which must be a 200."""
    reply = client.post(path, json=body or {}, headers={"X-CSRF-Token": csrf(client)})
    assert reply.status_code == 200, reply.json
    return reply.json


def api_status(client) -> dict:
    return client.get("/api/status").json
