"""Limits on signing in (login and first-boot setup), kept by Flask-Limiter in bounded in-process memory.

Three limits, all on POST only, each a fixed window (one counter per key, dropped when its minute ends):
everyone together, each client address, and failed attempts per address and user name. The global
one bounds the CPU and memory password hashing can take (each attempt, even for an unknown user,
costs one scrypt hash). It is checked first, before any request, so a refused attempt creates no
per-address or per-name counter: at most about 1 + 2 x the global limit counters exist at any time.
"""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from .i18n import translate as _

LIMITS = {  # app.config keys, so a test can lower them rather than hash hundreds of passwords
    "SIGNIN_LIMIT_GLOBAL": "60 per minute",  # about one hash a second at most: a Pi keeps answering calls meanwhile
    "SIGNIN_LIMIT_PER_CLIENT": "20 per minute",
    # Failures per address and user name, so a stranger cannot lock the admin out of the box everywhere.
    "SIGNIN_LIMIT_FAILED_PER_USER": "5 per minute",
}
ENDPOINTS = ("auth.login", "auth.setup")


def _configured(key: str):
    return lambda: current_app.config[key]


def _failed(response: Response) -> bool:
    return response.status_code in (400, 401)


def _client_and_user() -> str:
    return f"{get_remote_address()}|{request.form.get('username', '').strip().lower()[:64]}"


def _message() -> str:
    return _("Too many sign-in attempts: try again in a minute.")


def install(app: Flask) -> Limiter:
    for key, value in LIMITS.items():
        app.config.setdefault(key, value)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", strategy="fixed-window",
                      headers_enabled=False)
    # Every limit is on a sign-in POST: any other request skips the limiter's lookups (1-2 ms each here).
    limiter.request_filter(lambda: request.method != "POST" or request.endpoint not in ENDPOINTS)
    for endpoint in ENDPOINTS:
        view = app.view_functions[endpoint]
        view = limiter.limit(_configured("SIGNIN_LIMIT_FAILED_PER_USER"), key_func=_client_and_user,
                             methods=["POST"], deduct_when=_failed, error_message=_message)(view)
        view = limiter.limit(_configured("SIGNIN_LIMIT_PER_CLIENT"), methods=["POST"], error_message=_message)(view)
        app.view_functions[endpoint] = view
    app.extensions["signin_limiter"] = limiter

    def everyone_together():
        if request.endpoint in ENDPOINTS and request.method == "POST":
            if not limiter.limiter.hit(parse(current_app.config["SIGNIN_LIMIT_GLOBAL"]), "sign-in", "everyone"):
                abort(429, _message())

    app.before_request(everyone_together)
    return limiter
