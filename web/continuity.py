"""Risk and continuity: a caller's risk flag and safety plan (set from the console, kept by the daemon with the
caller's data), and shift handover notes the next shift must acknowledge (kept in web.db: they are about the
team's work, not a call). A note stays on top of every page for each user who has not acknowledged it."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, url_for

from .i18n import translate as _
from .link import act, viewer
from .pages import back_to

blueprint = Blueprint("continuity", __name__)
PENDING_DAYS = 3  # a note older than this no longer stops anyone: the shift it was for is long over
KEPT_DAYS = 90  # notes and their acknowledgements are kept this long (they may name callers' troubles)
MAX_NOTE = 4000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS handover_notes (id INTEGER PRIMARY KEY, author TEXT NOT NULL, text TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS handover_acks (note_id INTEGER NOT NULL REFERENCES handover_notes (id) ON DELETE CASCADE,
    username TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (note_id, username));
"""


def install(app: Flask) -> None:
    with app.extensions["web_store"].connection() as db:
        db.executescript(_SCHEMA)
    app.context_processor(lambda: {"pending_handover": pending_handover})


def _db():
    return current_app.extensions["web_store"].connection()


def pending_handover() -> list[dict[str, Any]]:
    """The notes this user has yet to acknowledge: others', written since their account and in the last days."""
    user = g.get("user")
    if not user:
        return []
    since = max(time.time() - PENDING_DAYS * 86400, user.get("created_at") or 0)
    with _db() as db:
        return [dict(r) for r in db.execute(
            "SELECT id, author, text, created_at FROM handover_notes n WHERE created_at > ? AND author != ? AND NOT "
            "EXISTS (SELECT 1 FROM handover_acks a WHERE a.note_id = n.id AND a.username = ?) ORDER BY id",
            [since, user["username"], user["username"]])]


@blueprint.get("/handover")
def handover():
    with _db() as db:
        notes = [dict(r) for r in db.execute("SELECT id, author, text, created_at FROM handover_notes ORDER BY id "
                                             "DESC LIMIT 50")]
        for note in notes:
            note["acks"] = [dict(r) for r in db.execute("SELECT username, at FROM handover_acks WHERE note_id = ? "
                                                        "ORDER BY at", [note["id"]])]
    return render_template("handover.html", notes=notes, max_note=MAX_NOTE)


@blueprint.post("/handover")
def write_note():
    text = request.form.get("text", "").strip()
    if not text or len(text) > MAX_NOTE:
        abort(400, f"a handover note has 1 to {MAX_NOTE} characters")
    now = time.time()
    with _db() as db:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM handover_notes WHERE created_at < ?", [now - KEPT_DAYS * 86400])
        db.execute("INSERT INTO handover_notes (author, text, created_at) VALUES (?, ?, ?)", [viewer(), text, now])
    flash(_("Handover note saved: the next shift sees it until they acknowledge it."), "info")
    return redirect(url_for("continuity.handover"), 303)


@blueprint.post("/handover/<int:note_id>/ack")
def acknowledge(note_id: int):
    with _db() as db:
        if db.execute("SELECT 1 FROM handover_notes WHERE id = ?", [note_id]).fetchone() is None:
            abort(404, f"no handover note {note_id}")
        db.execute("INSERT OR IGNORE INTO handover_acks (note_id, username, at) VALUES (?, ?, ?)",
                   [note_id, viewer(), time.time()])
    return redirect(back_to(url_for("pages.console")), 303)


@blueprint.post("/console/risk")
def set_risk():
    """The caller of this call (ringing, live or past) at risk or not, and their safety plan."""
    form = request.form
    call_id = form.get("call_id", "")
    if not call_id or len(call_id) > 64:
        abort(400, "no such call")
    act("caller.risk", _("Risk and safety plan saved."), call=call_id, author=viewer(),
        risk=form.get("risk") == "on", reason=form.get("reason", "").strip()[:4000] or None,
        safety_plan=form.get("safety_plan", "").strip()[:4000] or None)
    return redirect(back_to(url_for("pages.console")), 303)
