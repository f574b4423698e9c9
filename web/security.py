"""Who may do what: sessions, roles, API tokens, CSRF, login throttling and security headers.

Every request passes `gate` before its view runs. Only the setup page, the login page and
static files are open; everything else needs a session, or for /api/ a bearer token.
"""

from __future__ import annotations

import functools
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, g, jsonify, redirect, request, session, url_for

OPEN_ENDPOINTS = {"auth.setup", "auth.login", "static"}
OWN_AUTH_BLUEPRINTS = {"api_records"}  # /api/v1 checks its per-client tokens itself
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
ROLE_RANK = {"operator": 1, "supervisor": 2, "admin": 3}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


def secret_file(path: Path, nbytes: int = 32) -> str:
    """A random secret kept in a 0600 file: made once, then read back on every start."""
    try:
        value = path.read_text(encoding="ascii").strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(value + "\n")
    os.chmod(path, 0o600)
    return value


class Throttle:
    """Five failed logins for one user from one address lock that pair out for a minute."""

    def __init__(self, limit: int = 5, lock_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.limit, self.lock_seconds, self.clock = limit, lock_seconds, clock
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def locked_for(self, ip: str, username: str) -> float:
        """Seconds left on the lock, 0 when the pair may try again."""
        with self._lock:
            recent = self._recent((ip, username.lower()))
            if len(recent) < self.limit:
                return 0.0
            return max(0.0, recent[-1] + self.lock_seconds - self.clock())

    def failed(self, ip: str, username: str) -> None:
        with self._lock:
            key = (ip, username.lower())
            self._failures[key] = [*self._recent(key), self.clock()]

    def succeeded(self, ip: str, username: str) -> None:
        with self._lock:
            self._failures.pop((ip, username.lower()), None)

    def _recent(self, key: tuple[str, str]) -> list[float]:
        cutoff = self.clock() - self.lock_seconds
        return [t for t in self._failures.get(key, []) if t > cutoff]


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _csrf_ok() -> bool:
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    expected = session.get("csrf")
    return bool(expected) and hmac.compare_digest(str(sent), expected)


def _bearer_ok() -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip(), current_app.config["API_TOKEN"])


def _refuse_api(code: int, message: str):
    return jsonify(error=message), code


def gate():
    """Runs before every view: set g.user, or refuse."""
    g.user = None
    user_id = session.get("user_id")
    if user_id is not None:
        g.user = current_app.extensions["web_store"].user(user_id)
        if g.user is None:
            session.clear()  # the account was deleted: the old cookie opens nothing
    if request.blueprint in OWN_AUTH_BLUEPRINTS:
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        if request.method not in SAFE_METHODS and not _csrf_ok():
            abort(403, "the form is stale: reload the page and try again")
        return None
    is_api = request.path.startswith("/api/")
    if is_api and _bearer_ok():
        g.api_token = True
        return None
    if g.user is None:
        if is_api:
            return _refuse_api(401, "log in, or send Authorization: Bearer <token> (see data/api-token)")
        if not current_app.extensions["web_store"].has_users():
            return redirect(url_for("auth.setup"))
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    if request.method not in SAFE_METHODS and not _csrf_ok():
        if is_api:
            return _refuse_api(403, "missing or wrong X-CSRF-Token header")
        abort(403, "the form is stale: reload the page and try again")
    return None


def requires(role: str) -> Callable:
    """Views below `role` in rank answer 403 (a bearer token counts as admin: it is the box's own key)."""
    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any):
            if not getattr(g, "api_token", False):
                if g.user is None or ROLE_RANK[g.user["role"]] < ROLE_RANK[role]:
                    abort(403, f"this page is for the {role} role")
            return view(*args, **kwargs)
        return checked
    return wrap


def can(role: str) -> bool:
    return g.get("user") is not None and ROLE_RANK[g.user["role"]] >= ROLE_RANK[role]


def add_headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def install(app: Flask) -> None:
    data_dir: Path = app.config["DATA_DIR"]
    app.config.update(
        SECRET_KEY=secret_file(data_dir / "web-secret"),
        API_TOKEN=secret_file(data_dir / "api-token"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
    )
    app.extensions["throttle"] = Throttle()
    app.before_request(gate)
    app.after_request(add_headers)
    app.jinja_env.globals.update(csrf_token=csrf_token, can=can)
