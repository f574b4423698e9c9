"""Who may do what: sessions, roles, API tokens, CSRF, login throttling and security headers.

Every request passes `gate` before its view runs. Only the setup page, the login page and
static files are open; everything else needs a session, or for /api/ a bearer token.
"""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, g, jsonify, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from appliance.files import atomic_write

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
    atomic_write(path, value + "\n", mode=0o600)
    return value


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def same_secret(sent: str, expected: str) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters (TypeError, a 500 for anyone).
    return hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode("utf-8"))


def _csrf_ok() -> bool:
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
    expected = session.get("csrf")
    return bool(expected) and same_secret(str(sent), expected)


def _bearer_ok() -> bool:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return False
    return same_secret(header[7:].strip(), current_app.config["API_TOKEN"])


def start_session(user: dict[str, Any]) -> None:
    """A fresh session (and CSRF token) on every login, so no fixation. The cookie holds only the id of
    a session row in web.db, so logging out ends it for good, even for a copy of the cookie."""
    end_session()
    config = current_app.config
    session.permanent = True
    session["sid"] = current_app.extensions["web_store"].open_session(user, config["WALL_CLOCK"](),
                                                                      config["SESSION_ABSOLUTE_SECONDS"])


def end_session() -> None:
    if "sid" in session:
        current_app.extensions["web_store"].close_session(str(session["sid"]))
    session.clear()


def _session_user() -> dict[str, Any] | None:
    """The logged-in user, or None when there is none or the session has ended.

    It ends on logout, when the user is deleted, when their session version changes (password,
    role, "log out everywhere"), after SESSION_IDLE_SECONDS without a request, and
    SESSION_ABSOLUTE_SECONDS after login. Wall time: the stamps must survive a restart.
    """
    session_id = session.get("sid")
    if session_id is None:
        return None
    config = current_app.config
    user = current_app.extensions["web_store"].session_user(
        str(session_id), config["WALL_CLOCK"](), config["SESSION_IDLE_SECONDS"], config["SESSION_ABSOLUTE_SECONDS"])
    if user is None:
        session.clear()  # the old cookie opens nothing
    return user


def _refuse_api(code: int, message: str):
    return jsonify(error=message), code


def gate():
    """Runs before every view: set g.user, or refuse."""
    g.user = _session_user()
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


class _SessionCookies(SecureCookieSessionInterface):
    """Flask's cookie sessions with one signing serializer per secret, not a new one twice a request."""

    def __init__(self) -> None:
        self._made: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        secrets_now = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._made is None or self._made[0] != secrets_now:
            self._made = (secrets_now, super().get_signing_serializer(app))
        return self._made[1]


def install(app: Flask) -> None:
    data_dir: Path = app.config["DATA_DIR"]
    app.config.update(
        SECRET_KEY=secret_file(data_dir / "web-secret"),
        API_TOKEN=secret_file(data_dir / "api-token"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_ABSOLUTE_SECONDS=12 * 3600,  # one long shift, then log in again
        SESSION_IDLE_SECONDS=3600,  # an open console polls the box, so only a closed or forgotten tab goes idle
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        # The cookie lives as long as the session may (12 h from sign-in) and idleness is kept in web.db, so
        # signing it again on every request (Flask's default, ~0.1 ms of each poll) would change nothing.
        SESSION_REFRESH_EACH_REQUEST=False,
        WALL_CLOCK=time.time,
    )
    app.session_interface = _SessionCookies()
    app.before_request(gate)
    app.after_request(add_headers)
    app.jinja_env.globals.update(csrf_token=csrf_token, can=can)
