"""The fleet page: every box sharing this box's MQTT broker (docs/fleet.md), as the daemon hears them.

The daemon holds the broker connection; the page asks it over the control socket like every other page and
polls /api/fleet every two seconds, so a box that goes offline shows so without a reload.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, jsonify, render_template

from .boxtime import shown
from .i18n import translate as _
from .link import DaemonError, ask
from .security import requires

blueprint = Blueprint("fleet", __name__)


def _fleet() -> dict[str, Any]:
    """The daemon's `fleet` reply with each box as the page's row of cells, in the page's language."""
    reply = ask("fleet")
    reply["rows"] = [_row(box) for box in reply.get("boxes", [])]
    moves = reply.get("moves") or {}
    reply["move_rows"] = [_move(move) for move in moves.get("recent", [])]
    after = moves.get("after") or 0
    reply["moves_setting"] = _("Callers who wait longer than {seconds} s are moved to a box with an operator free "
                               "for their skill.", seconds=round(after)) if after else \
        _("This box does not move its waiting callers to other boxes.")
    # The fleet.numbers alarm (service/alarms.py), one sentence per line, in the page's language.
    reply["number_problems"] = [
        _("Line {line} shows {number}, which [fleet] numbers does not list: a sibling box would not know the "
          "callers this box moves to it, and they would hear its menu again. Add the number to [fleet] numbers.",
          line=line, number=number)
        for problem in reply.get("problems") or []
        for line, number in re.findall(r"line (\S+) shows (\S+), which \[fleet\] numbers does not list", problem)]
    if after and moves.get("fixed"):
        reply["moves_setting"] += " " + _("Callers on line {lines} are not moved: an analogue (V.253) line cannot "
                                          "hand calls on.", lines=", ".join(moves["fixed"]))
    return reply


def _move(move: dict[str, Any]) -> list[str]:
    """One of the latest moves: when, which way, the box, and (back in line) why."""
    way = {"out": _("moved to"), "back": _("back in line, not moved to"), "in": _("moved here from")}
    return [shown(move["at"], "%H:%M:%S"), way.get(move["way"], move["way"]), move["box"],
            _why(move.get("detail") or "")]


# Why a move did not happen, as the daemon says it (core/moves.py, modem/transfer.py, modem/line_handle.py).
_WHY = tuple((re.compile(pattern), words) for pattern, words in (
    (r"(?:called off: )?(?P<box>.+) has no operator free for the caller any more",
     "{box} has no operator free for the caller any more"),
    (r"busy", "the number was busy"),
    (r"no answer", "nobody answered at that number"),
    (r"no carrier|no dialtone", "the call to that number did not go through"),
    (r"failed: (?P<error>.+)", "the modem could not call that number ({error})"),
    (r"the network refused to hold the call: (?P<error>.+)", "the network refused to hold the call ({error})"),
    (r"the caller hung up during the transfer", "the caller hung up during the move"),
    (r"the network refused both explicit call transfer and a conference", "the network refused to hand the call on"),
    (r"the transfer failed", "the move failed"),
    # a caller moved here: what they chose at that box and how long they waited there (core/moves.py take)
    (r"(?P<skill>[^,]+), waited (?P<seconds>\d+) s(?P<rest>.*)", "{skill}, waited {seconds} s there{rest}"),
))


def _why(detail: str) -> str:
    """The daemon's reason in the page's language; one it does not know yet is shown as it came."""
    for pattern, words in _WHY:
        found = pattern.fullmatch(detail)
        if found:
            return _(words, **found.groupdict())
    return detail


def _row(box: dict[str, Any]) -> list[str]:
    level = box["service_level"]
    wait = " (" + _("longest {seconds} s", seconds=round(box["longest_wait"])) + ")" if box["waiting"] else ""
    skills = ", ".join(f"{skill} {count}" for skill, count in sorted((box.get("free_skills") or {}).items()))
    return [box["box"], box["name"] or "", _("online") if box["online"] else _("offline"),
            f"{box['lines_up']}/{box['lines']}", str(box["free_operators"]), skills or "—", f"{box['waiting']}{wait}",
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
