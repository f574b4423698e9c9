"""The dashboard's poll answered before Flask builds a request, while this second's answer is already made.

Every open dashboard asks for /api/dashboard every few seconds, and its answer is made at most once a second
(web/api.py). Sending those bytes took ~0.25 ms of CPU in Flask (request context, cookie session, URL match,
the Host, session and token checks, the language, the response object and its headers) against ~0.08 ms for a
bare Flask view: with 20 clients on the 4 server threads the queue behind that CPU is the poll's latency.

Only the plainest poll is answered here: GET /api/dashboard with no query, no cookie and no Accept-Language
(so no session and no language other than English can apply), the box's API token, and a Host the box
answers to, checked by the same functions Flask's hooks use. Its headers are those Flask sent for the same
poll the last time it made the answer. Anything else, or no answer kept, goes through Flask as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from .api import kept_dashboard
from .hosts import trusted_now
from .security import same_secret

PATH = "/api/dashboard"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class EarlyDashboard:
    """WSGI middleware in front of the Flask app (app.wsgi_app)."""

    def __init__(self, app: Flask, wsgi: WsgiApp) -> None:
        self.config = app.config
        self.wsgi = wsgi
        self._headers: list[tuple[str, str]] | None = None  # Flask's for a plain poll, but Content-Length
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self._plain_poll(environ):
            return self.wsgi(environ, start_response)
        body = kept_dashboard((str(self.config["CONTROL_PATH"]), "admin", "en"))
        headers = self._headers
        if body is None or headers is None:
            return self.wsgi(environ, self._noting(start_response))
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _plain_poll(self, environ: dict[str, Any]) -> bool:
        if (environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING")
                or "HTTP_COOKIE" in environ or "HTTP_ACCEPT_LANGUAGE" in environ):
            return False
        auth = environ.get("HTTP_AUTHORIZATION", "")
        return (auth.startswith("Bearer ") and same_secret(auth[7:].strip(), self.config["API_TOKEN"])
                and trusted_now(environ.get("HTTP_HOST", ""), self.config["TRUSTED_HOSTS_EXTRA"]))

    def _noting(self, start_response: Callable[..., Any]) -> Callable[..., Any]:
        """start_response that keeps the headers of Flask's 200 to a plain poll, to send them the same."""
        def noted(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            if status.startswith("200 "):
                with self._lock:
                    self._headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            return start_response(status, headers, *rest)

        return noted
