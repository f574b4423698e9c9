"""Backup and restore: config, users, revisions, notes, recordings and the call log in one tar.gz.

The manifest carries the schema versions; a backup from newer software, or one whose databases are not sound
hotline databases (PRAGMA integrity_check, a known schema version), is refused before anything changes.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
import tempfile
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for

from appliance import config as configuration
from appliance.files import atomic_write
from appliance.store.migrations import MIGRATIONS
from appliance.store.salvage import CALLS_VERSION, database_problem

from . import configure
from .security import requires
from .store import SCHEMA_VERSION

blueprint = Blueprint("backup", __name__)

FORMAT = 1
MAX_MEMBER = 256 * 1024 * 1024


class RestoreError(ValueError):
    pass


def _sqlite_copy(source: Path, target: Path, read_only: bool) -> None:
    """A consistent copy of a live database (SQLite's online backup), never a half-written file."""
    uri = f"file:{source}?mode=ro" if read_only else f"file:{source}"
    src = sqlite3.connect(uri, uri=True, timeout=5)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def manifest() -> dict[str, Any]:
    return {"format": FORMAT, "made_by": "hotline", "created_at": time.time(),
            "calls_schema": len(MIGRATIONS), "web_schema": SCHEMA_VERSION}


def make_backup(data_dir: Path, config_toml: str) -> bytes:
    out = io.BytesIO()
    with tempfile.TemporaryDirectory() as scratch, tarfile.open(fileobj=out, mode="w:gz") as tar:
        def add_bytes(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))

        add_bytes("manifest.json", json.dumps(manifest(), indent=1).encode())
        add_bytes("config.toml", config_toml.encode())
        for name, read_only in (("web.db", False), ("calls.db", True)):
            if (data_dir / name).exists():
                copy = Path(scratch) / name
                _sqlite_copy(data_dir / name, copy, read_only)
                tar.add(copy, arcname=name)
        uploads = data_dir / "uploads"
        if uploads.is_dir():
            for path in sorted(uploads.iterdir()):
                if path.is_file():
                    tar.add(path, arcname=f"uploads/{path.name}")
    return out.getvalue()


def read_backup(blob: bytes) -> dict[str, bytes]:
    """Every member of a backup by name; RestoreError says what is wrong with a bad or newer one."""
    try:
        tar = tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise RestoreError(f"this is not a hotline backup (a .tar.gz file): {exc}") from None
    members: dict[str, bytes] = {}
    with tar:
        for info in tar.getmembers():
            name = info.name
            # Only plain files under known names: nothing lands outside the data directory.
            known = name in ("manifest.json", "config.toml", "web.db", "calls.db") or (
                name.startswith("uploads/") and name.count("/") == 1 and not name.endswith(("/", "/..", "/.")))
            if not info.isfile() or not known or info.size > MAX_MEMBER:
                raise RestoreError(f"unexpected item {name!r} in the backup")
            members[name] = tar.extractfile(info).read()
    if "manifest.json" not in members:
        raise RestoreError("the backup has no manifest.json: it was not made by this box")
    try:
        found = json.loads(members["manifest.json"])
    except ValueError:
        raise RestoreError("the backup's manifest.json is unreadable") from None
    ours = manifest()
    for key, what in (("format", "backup format"), ("calls_schema", "call database schema"),
                      ("web_schema", "web database schema")):
        version = found.get(key)
        if not isinstance(version, int):
            raise RestoreError(f"the backup's manifest has no {key}")
        if version > ours[key]:
            raise RestoreError(f"this backup comes from newer hotline software ({what} version {version}; this box "
                               f"knows up to {ours[key]}). Update the box first, then restore.")
    for name, version_query, newest in (("calls.db", CALLS_VERSION, len(MIGRATIONS)),
                                        ("web.db", "PRAGMA user_version", SCHEMA_VERSION)):
        if name in members:
            _check_database(name, members[name], version_query, newest)
    return members


def _check_database(name: str, blob: bytes, version_query: str, newest: int) -> None:
    """A database in a backup must be a sound hotline database before it may replace anything."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / name
        copy.write_bytes(blob)
        problem = database_problem(copy, version_query=version_query, newest=newest)
    if problem:
        raise RestoreError(f"the backup's {name} {problem}; nothing was restored")


def restore(data_dir: Path, members: dict[str, bytes]) -> list[str]:
    """Put the backup in place; returns what was done. The config is applied through the daemon by the caller."""
    done = []
    for name in ("web.db",):
        if name in members:
            with tempfile.TemporaryDirectory() as scratch:
                source = Path(scratch) / name
                source.write_bytes(members[name])
                _sqlite_copy(source, data_dir / name, read_only=True)
            done.append("users, config revisions and notes")
    uploads = [n for n in members if n.startswith("uploads/")]
    if uploads:
        (data_dir / "uploads").mkdir(exist_ok=True)
        for name in uploads:
            atomic_write(data_dir / name, members[name], mode=0o640)
        done.append(f"{len(uploads)} recording(s)")
    if "calls.db" in members:
        # The daemon is the only writer of calls.db: it checks the restored log again and swaps it in at
        # its next start, keeping the replaced log aside until the restored one has opened.
        atomic_write(data_dir / "calls.db.restore", members["calls.db"], mode=0o640)
        done.append("the call log (in force after the daemon's next restart)")
    return done


@blueprint.get("/backup")
@requires("admin")
def page():
    return render_template("backup.html")


@blueprint.get("/backup/download")
@requires("admin")
def download():
    import tomli_w

    blob = make_backup(current_app.config["DATA_DIR"], tomli_w.dumps(configure.current_document()))
    name = f"hotline-backup-{datetime.now():%Y%m%d-%H%M}.tar.gz"
    return Response(blob, mimetype="application/gzip",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@blueprint.post("/backup/restore")
@requires("admin")
def upload():
    upload = request.files.get("backup")
    try:
        if upload is None or not upload.filename:
            raise RestoreError("choose a backup file first")
        members = read_backup(upload.read())
        document = tomllib.loads(members.get("config.toml", b"").decode("utf-8"))
        if configuration.check(document)[0] is None:
            raise RestoreError("the backup's config.toml has errors; nothing was restored")
    except (RestoreError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        flash(str(exc), "error")
        return render_template("backup.html"), 400
    done = restore(current_app.config["DATA_DIR"], members)
    configure.save(document, "restored from a backup")
    flash("restored: " + ", ".join(done) if done else "restored the config", "info")
    return redirect(url_for("backup.page"))
