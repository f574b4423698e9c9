"""The live pages: dashboard, the operator console (tablet-sized) and the simulation bench."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from .calls_query import Calls
from .link import DaemonError, ask
from .security import requires

blueprint = Blueprint("pages", __name__)

CALL_TYPES = ("consultation", "complaint", "information", "crisis", "silent", "prank", "other")
CATEGORIES = ("legal", "psychology", "health", "housing", "family", "work", "other")


def _status() -> tuple[dict | None, str | None]:
    try:
        return ask("status"), None
    except DaemonError as exc:
        return None, str(exc)


@blueprint.get("/")
def dashboard():
    return render_template("dashboard.html")


@blueprint.get("/console")
def console():
    """What the operator at a handset sees: the caller now on it, their history, and the notes form."""
    status, error = _status()
    handsets = status["handsets"] if status else []
    chosen = request.args.get("handset") or g.user.get("handset") or (handsets[0]["id"] if handsets else None)
    call = None
    if status:
        call = next((c for c in status["calls"] if c.get("handset") == chosen), None)
    calls = Calls(current_app.config["DATABASE"])
    history = calls.history(call["caller"]) if call else []
    store = current_app.extensions["web_store"]
    notes = store.notes([c["id"] for c in history] + ([call["id"]] if call else []))
    return render_template("console.html", handsets=handsets, chosen=chosen, call=call, history=history,
                           notes=notes, error=error, call_types=CALL_TYPES, categories=CATEGORIES)


@blueprint.post("/console/notes")
def add_note():
    form = request.form
    call_id = form.get("call_id", "")
    if not call_id or len(call_id) > 64:
        abort(400, "a note needs the call it belongs to")
    call_type = form.get("call_type", "")
    if call_type and call_type not in CALL_TYPES:
        abort(400, f"call type must be one of {', '.join(CALL_TYPES)}")
    categories = [c for c in form.getlist("categories") if c in CATEGORIES]
    text = form.get("text", "").strip()[:4000]
    current_app.extensions["web_store"].add_note(call_id, g.user["username"], call_type, categories, text)
    back = form.get("back", "")
    return redirect(back if back.startswith("/") and not back.startswith("//") else url_for("pages.console"))


@blueprint.get("/bench")
@requires("operator")
def bench():
    """Simulation only: a phone to call the box and the handsets to lift, driving /api/sim/."""
    status, error = _status()
    return render_template("bench.html", status=status, error=error)
