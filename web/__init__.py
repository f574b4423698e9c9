"""The admin web app, built by an application factory (no module-global app)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def create_app(data_dir: str | Path, *, control_path: str | Path | None = None) -> Flask:
    """The web app for the box whose state lives in data_dir (its database and control socket)."""
    from . import api, pages

    data_dir = Path(data_dir)
    app = Flask(__name__)
    app.config.update(
        DATA_DIR=data_dir,
        DATABASE=data_dir / "calls.db",
        CONTROL_PATH=Path(control_path) if control_path else data_dir / "control.sock",
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.register_blueprint(api.blueprint)
    app.register_blueprint(pages.blueprint)
    return app
