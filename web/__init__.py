"""The admin web app, built by an application factory (no module-global app)."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("hotline.web")


def create_app(data_dir: str | Path, *, control_path: str | Path | None = None) -> Flask:
    """The web app for the box whose state lives in data_dir (its database and control socket).

    It keeps its own users and config revisions in data_dir/web.db, and makes (once) the
    session key data_dir/web-secret and the API token data_dir/api-token, both mode 0600.
    """
    from . import access, api, auth, backup, configure, i18n, inbox, knowledge, pages, people, records, security
    from .store import WebStore

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    app.config.update(
        DATA_DIR=data_dir,
        DATABASE=data_dir / "calls.db",
        CONTROL_PATH=Path(control_path) if control_path else data_dir / "control.sock",
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,  # a backup or an uploaded recording; JSON bodies are checked apart
    )
    app.extensions["web_store"] = WebStore(data_dir / "web.db")
    security.install(app)
    i18n.install(app)
    for module in (api, auth, pages, records, configure, backup, people, inbox, access, knowledge):
        app.register_blueprint(module.blueprint)
    if importlib.util.find_spec("web.api_records") is not None:
        from . import api_records

        app.register_blueprint(api_records.blueprint)
    app.register_error_handler(HTTPException, _error_page)
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
