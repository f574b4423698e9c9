"""Limits on signing in (login and first-boot setup): fixed windows in bounded process memory.

Three limits, all on POST only: everyone together, each client address, and failed attempts per address
and user name. The global one bounds the CPU and memory password hashing can take (each attempt, even for
an unknown user, costs one scrypt hash). It is checked first, so a refused attempt creates no per-address
or per-name counter; every counter belongs to the current window and all go when it ends, so at most about
1 + 2 x the global limit counters exist at any time.

Hand-written (it was Flask-Limiter): the library and its `limits` package took 4 MB of the web process's
memory and ~0.1 ms of every request, for three counters checked on one form.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from flask import Flask, Response, abort, current_app, request

from .i18n import translate as _

LIMITS = {  # app.config keys, so a test can lower them rather than hash hundreds of passwords
    "SIGNIN_LIMIT_GLOBAL": "60 per minute",  # about one hash a second at most: a Pi keeps answering calls meanwhile
    "SIGNIN_LIMIT_PER_CLIENT": "20 per minute",
    # Failures per address and user name, so a stranger cannot lock the admin out of the box everywhere.
    "SIGNIN_LIMIT_FAILED_PER_USER": "5 per minute",
}
ENDPOINTS = ("auth.login", "auth.setup")
_UNITS = {"second": 1, "minute": 60, "hour": 3600}
_LIMIT = re.compile(r"\s*(\d+)\s+per\s+(second|minute|hour)\s*")


def parse(text: str) -> tuple[int, int]:
    """'20 per minute' -> (20, 60): how many in one window of how many seconds."""
    found = _LIMIT.fullmatch(text)
    if found is None:
        raise ValueError(f"a sign-in limit is 'N per second|minute|hour', not {text!r}")
    return int(found.group(1)), _UNITS[found.group(2)]


class SigninLimits:
    """Fixed-window counters, one per (limit, key) in the limit's current window (a minute from its first attempt)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.counters: dict[tuple[str, str], int] = {}  # (limit's config key, client or client|user) -> attempts
        self._windows: dict[str, float] = {}  # limit's config key -> when the window its counters are in began
        self._lock = threading.Lock()

    def _slot(self, config_key: str, key: str) -> tuple[tuple[str, str], int]:
        allowed, seconds = parse(current_app.config[config_key])
        now = self.clock()
        began = self._windows.get(config_key)
        if began is None or now - began >= seconds:
            # A window begins with the first attempt after the last one ended, and every counter of the last
            # one goes (bounded memory, nothing to expire later).
            self.counters = {slot: n for slot, n in self.counters.items() if slot[0] != config_key}
            self._windows[config_key] = now
        return (config_key, key), allowed

    def hit(self, config_key: str, key: str) -> bool:
        """Count one attempt; False (and not counted) when the limit is already reached."""
        with self._lock:
            slot, allowed = self._slot(config_key, key)
            if self.counters.get(slot, 0) >= allowed:
                return False
            self.counters[slot] = self.counters.get(slot, 0) + 1
            return True

    def reached(self, config_key: str, key: str) -> bool:
        with self._lock:
            slot, allowed = self._slot(config_key, key)
            return self.counters.get(slot, 0) >= allowed

    def reset(self) -> None:
        with self._lock:
            self.counters.clear()
            self._windows.clear()


def _client() -> str:
    return request.remote_addr or "127.0.0.1"


def _client_and_user() -> str:
    return f"{_client()}|{request.form.get('username', '').strip().lower()[:64]}"


def _message() -> str:
    return _("Too many sign-in attempts: try again in a minute.")


def install(app: Flask) -> SigninLimits:
    for key, value in LIMITS.items():
        app.config.setdefault(key, value)
    limits = SigninLimits()
    app.extensions["signin_limiter"] = limits

    def before() -> None:
        if request.method != "POST" or request.endpoint not in ENDPOINTS:
            return  # every limit is on a sign-in POST: any other request costs one comparison
        if (not limits.hit("SIGNIN_LIMIT_GLOBAL", "everyone")
                or not limits.hit("SIGNIN_LIMIT_PER_CLIENT", _client())
                or limits.reached("SIGNIN_LIMIT_FAILED_PER_USER", _client_and_user())):
            abort(429, _message())

    def after(response: Response) -> Response:
        if request.method == "POST" and request.endpoint in ENDPOINTS and response.status_code in (400, 401):
            limits.hit("SIGNIN_LIMIT_FAILED_PER_USER", _client_and_user())
        return response

    app.before_request(before)
    app.after_request(after)
    return limits
