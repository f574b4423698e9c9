"""The admin web app, built by an application factory (no module-global app)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger("hotline.web")


def create_app(data_dir: str | Path, *, control_path: str | Path | None = None,
               trusted_hosts: Iterable[str] = (), behind_tls_proxy: bool = False) -> Flask:
    """The web app for the box whose state lives in data_dir (its database and control socket).

    It keeps its own users and config revisions in data_dir/web.db, and makes (once) the
    session key data_dir/web-secret and the API token data_dir/api-token, both mode 0600, and
    while no user exists the one-time setup code data_dir/setup-code (web/firstboot.py).
    It answers only to the box's own names and addresses and to `trusted_hosts` (web/hosts.py).
    `behind_tls_proxy`: served by the HTTPS front end on this box (docs/security.md), so the
    client address and scheme come from its X-Forwarded-For/-Proto headers and cookies are Secure.
    """
    from . import (
        access,
        alerts,
        api,
        api_records,
        auth,
        backup_pages,
        blocking,
        configure,
        continuity,
        early,
        firstboot,
        fleet,
        hosts,
        i18n,
        inbox,
        knowledge,
        labels,
        pages,
        passwords,
        people,
        records,
        row_ids,
        security,
        signin,
        speech,
        texts,
        words,
    )
    from .store import WebStore, one_malloc_arena
    from .template_cache import TemplateCache, installed

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # waitress warns "Task queue depth is N" for each request that waits for a thread: with a few dashboards
    # polling at once that is a journal line per request (and its CPU), about something normal and brief.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    one_malloc_arena()  # before waitress starts its threads
    app = Flask(__name__)
    app.jinja_options = {**app.jinja_options, "bytecode_cache": TemplateCache(data_dir / "web-templates", installed())}
    app.config.update(
        DATA_DIR=data_dir,
        DATABASE=data_dir / "calls.db",
        CONTROL_PATH=Path(control_path) if control_path else data_dir / "control.sock",
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,  # a backup or an uploaded recording; JSON bodies are checked apart
    )
    app.extensions["web_store"] = WebStore(data_dir / "web.db")
    if not app.extensions["web_store"].has_users():
        firstboot.ensure(data_dir)
    security.install(app)
    hosts.install(app, trusted_hosts)
    if behind_tls_proxy:
        # Only the front end on 127.0.0.1 reaches waitress, so its one hop of forwarded headers is the truth.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
        app.config["SESSION_COOKIE_SECURE"] = True
    app.wsgi_app = early.EarlyDashboard(app, app.wsgi_app)  # type: ignore[method-assign]
    i18n.install(app)
    labels.install(app)
    words.install(app)
    row_ids.install(app)
    for module in (api, api_records, auth, pages, records, configure, backup_pages, people, inbox, access, knowledge,
                   blocking, alerts, fleet, texts, continuity, speech):
        app.register_blueprint(module.blueprint)
    signin.install(app)
    continuity.install(app)
    app.register_error_handler(HTTPException, _error_page)
    app.register_error_handler(passwords.PasswordHelperError, _no_password_helper)
    app.before_request(_bound_json)
    log.info("API token in %s (send it as Authorization: Bearer <token>)", data_dir / "api-token")
    return app


MAX_JSON = 64 * 1024  # no request the API takes as JSON comes near this


def _bound_json():
    """Large bodies are for backups and recordings (multipart); a JSON one that size is refused unread."""
    if request.is_json and (request.content_length or 0) > MAX_JSON:
        return jsonify(error=f"a JSON request may be at most {MAX_JSON // 1024} KB"), 413
    return None


def _error_page(exc: HTTPException):
    if request.path.startswith("/api/"):
        return jsonify(error=exc.description), exc.code
    return render_template("error.html", error=exc), exc.code


def _no_password_helper(exc: Exception):
    """Nobody can sign in or set a password while the hashing helper fails (web/passwords.py): say so, plainly."""
    from .i18n import translate

    log.error("%s", exc)
    return _error_page(ServiceUnavailable(translate(
        "Passwords cannot be checked right now ({error}). Try again in a minute; if it goes on, the box's journal "
        "(journalctl -u hotline-web) says why.", error=str(exc))))
