"""Records: the call log with filters, one call's timeline and notes, statistics, CSV export, voicemail."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, current_app, render_template, request

from .calls_query import Calls, Filters, timeline
from .security import requires

blueprint = Blueprint("records", __name__)

OUTCOMES = ("completed", "abandoned", "no answer", "left in menu", "closed", "ended by flow", "failed",
            "interrupted")


def _calls() -> Calls:
    return Calls(current_app.config["DATABASE"])


def _query() -> dict[str, str]:
    """The filters as given, to carry into the export link and the next page."""
    return {key: value for key, value in request.args.items() if key != "page" and value}


def _filters() -> Filters:
    try:
        return Filters.from_args(request.args)
    except ValueError as exc:
        abort(400, str(exc))


@blueprint.get("/calls")
@requires("supervisor")
def call_log():
    filters = _filters()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = _calls().search(filters, limit=50, offset=(page - 1) * 50)
    return render_template("calls.html", calls=rows, filters=filters, outcomes=OUTCOMES, page=page,
                           query=_query())


@blueprint.get("/calls/<call_id>")
@requires("supervisor")
def call_detail(call_id: str):
    call = _calls().one(call_id)
    if call is None:
        abort(404, f"no call {call_id!r}")
    notes = current_app.extensions["web_store"].notes([call_id])
    history = [c for c in _calls().history(call["caller"]) if c["id"] != call_id]
    return render_template("call.html", call=call, timeline=timeline(call), notes=notes, history=history)


@blueprint.get("/calls.csv")
@requires("supervisor")
def export_csv():
    body = _calls().csv(_filters())
    name = f"calls-{datetime.now():%Y%m%d-%H%M}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"})


@blueprint.get("/stats")
@requires("supervisor")
def stats():
    filters = _filters()
    return render_template("stats.html", figures=_calls().figures(filters), by_menu=_calls().by_menu(filters),
                           filters=filters, query=_query())


@blueprint.get("/voicemail")
@requires("supervisor")
def voicemail():
    return render_template("voicemail.html")
