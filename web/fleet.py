"""The fleet page: every box sharing this box's MQTT broker (docs/fleet.md), as the daemon hears them.

The daemon holds the broker connection; the page asks it over the control socket like every other page and
polls /api/fleet every two seconds, so a box that goes offline shows so without a reload.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template

from .i18n import translate as _
from .link import DaemonError, ask
from .security import requires

blueprint = Blueprint("fleet", __name__)


def _fleet() -> dict[str, Any]:
    """The daemon's `fleet` reply with each box as the page's row of cells, in the page's language."""
    reply = ask("fleet")
    reply["rows"] = [_row(box) for box in reply.get("boxes", [])]
    return reply


def _row(box: dict[str, Any]) -> list[str]:
    level = box["service_level"]
    wait = " (" + _("longest {seconds} s", seconds=round(box["longest_wait"])) + ")" if box["waiting"] else ""
    return [box["box"], box["name"] or "", _("online") if box["online"] else _("offline"),
            f"{box['lines_up']}/{box['lines']}", str(box["free_operators"]), f"{box['waiting']}{wait}",
            "—" if level is None else f"{round(level * 100)}%", ", ".join(box["alarms"])]


@blueprint.get("/fleet")
@requires("supervisor")
def page():
    try:
        fleet, error = _fleet(), None
    except DaemonError as exc:
        fleet, error = {"configured": True, "rows": []}, str(exc)
    return render_template("fleet.html", fleet=fleet, error=error)


@blueprint.get("/api/fleet")
@requires("supervisor")
def data():
    try:
        return jsonify(_fleet())
    except DaemonError as exc:
        return jsonify(error=str(exc), words=_("Cannot reach the box")), exc.status
