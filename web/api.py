"""The JSON API: watch the box, and in simulation drive it from outside."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from .alarm_words import alarm_words, line_reason
from .i18n import language
from .link import STATUS_SECONDS, DaemonError, ask, call_log, live_status, status_generation, viewer_role
from .patterns import plain
from .records import today as today_figures
from .words import opening

blueprint = Blueprint("api", __name__, url_prefix="/api")


def _refused(exc: DaemonError, **more: Any):
    """The daemon's refusal: `error` as it wrote it (for programs), `words` in the page's language (for its scripts)."""
    return jsonify(error=str(exc), words=plain(str(exc)), **more), exc.status


def _daemon(command: str, **args: Any):
    try:
        return jsonify(ask(command, **args))
    except DaemonError as exc:
        return _refused(exc)


@blueprint.get("/status")
def status():
    """The live status. `?max_age=S` (0 to 1 s): one kept no longer than that. The operator console asks for one
    no older than its own poll (a quarter second), or a status kept from just before a ring kept the ringing call
    off every console for up to a second more: 1.1-1.3 s from the key to the console at a load of 8."""
    max_age = request.args.get("max_age", str(STATUS_SECONDS))
    try:
        seconds = float(max_age)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= STATUS_SECONDS:
        return jsonify(error=f"max_age {max_age!r} must be seconds from 0 to {STATUS_SECONDS:g}"), 400
    try:
        return jsonify(live_status(seconds))
    except DaemonError as exc:
        return _refused(exc)


# The dashboard's answer, made once a second for each role and language and sent as it is to every open
# dashboard: 20 of them asked for the status words and JSON 20 times a second (99.8 ms median at load 15).
# Making it asks the daemon twice and counts today's calls (tens of ms): while one request makes the next
# second's, the others are sent the last one rather than wait (each second, every dashboard in flight used
# to wait for it). After a command (a new status generation) nobody is sent the old one.
_dashboard_lock = threading.Lock()  # guards the two below, held only to look and to store
_dashboards: dict[tuple[str, str, str], tuple[float, int, bytes]] = {}  # -> (monotonic, status generation, body)
_making: set[tuple[str, str, str]] = set()  # answers being made now
_maker = threading.Lock()  # one maker at a time: who has no answer to send waits for it


def _kept(key: tuple[str, str, str], *, while_made: bool) -> bytes | None:
    """The answer to send now for `key`, if there is one: this second's, or the last while the next is made."""
    with _dashboard_lock:
        kept = _dashboards.get(key)
        if kept is None or kept[1] != status_generation():
            return None
        if time.monotonic() - kept[0] < STATUS_SECONDS or (while_made and key in _making):
            return kept[2]
        return None


def kept_dashboard(key: tuple[str, str, str]) -> bytes | None:
    """The answer a dashboard poll for `key` (control socket, role, language) is sent now without making one
    (web/early.py sends it before Flask sees the request), or None."""
    return _kept(key, while_made=True)


@blueprint.get("/dashboard")
def dashboard():
    """Status, today's figures, the open/closed line and the alarms in words, in one answer, for the dashboard's
    poll."""
    key = (str(current_app.config["CONTROL_PATH"]), viewer_role(), language())
    body = _kept(key, while_made=True)
    if body is None:
        with _maker:
            body = _kept(key, while_made=False)  # made meanwhile by the one this request waited for
            if body is None:
                with _dashboard_lock:
                    _making.add(key)
                try:
                    made, generation = time.monotonic(), status_generation()
                    today = today_figures()
                    try:
                        state = live_status()
                    except DaemonError as exc:
                        with _dashboard_lock:
                            _dashboards.pop(key, None)
                        return _refused(exc, today=today)
                    state["alarms"] = [alarm_words(alarm) for alarm in state.get("alarms", [])]
                    for line in state.get("lines", []):  # why a line is down, in the page's words
                        line.update(line_reason(line.get("reason")))
                    body = json.dumps({"status": state, "today": today,
                                       "opening": opening(state.get("schedule", {}))}, ensure_ascii=False).encode()
                    with _dashboard_lock:
                        _dashboards[key] = (made, generation, body)
                finally:
                    with _dashboard_lock:
                        _making.discard(key)
    return Response(body, mimetype="application/json")


@blueprint.get("/calls")
def calls():
    try:
        limit = min(max(int(request.args.get("limit", 50)), 1), 500)
        offset = max(int(request.args.get("offset", 0)), 0)
    except ValueError:
        return jsonify(error="limit and offset must be whole numbers"), 400
    return jsonify(calls=call_log().recent(limit, offset, role=viewer_role()))


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@blueprint.post("/sim/call")
def sim_call():
    body = _json_body()
    caller = body.get("caller")
    if caller is not None and not isinstance(caller, str):
        return jsonify(error="caller must be a phone number string, or null for a withheld number"), 400
    return _daemon("sim.call", caller=caller, line=body.get("line"))


@blueprint.post("/sim/dtmf")
def sim_dtmf():
    body = _json_body()
    digits = body.get("digits")
    if not isinstance(digits, str) or not digits or any(d not in "0123456789*#ABCD" for d in digits):
        return jsonify(error="digits must be a string of 0-9, *, #, A-D"), 400
    return _daemon("sim.dtmf", digits=digits, line=body.get("line"))


@blueprint.post("/sim/speak")
def sim_speak():
    """The simulated caller talks into the line for some seconds (a voicemail to record)."""
    body = _json_body()
    return _daemon("sim.speak", seconds=body.get("seconds", 3), line=body.get("line"))


@blueprint.post("/sim/hangup")
def sim_hangup():
    return _daemon("sim.hangup", line=_json_body().get("line"))


@blueprint.post("/sim/sms")
def sim_sms():
    """A simulated caller texts the box."""
    body = _json_body()
    return _daemon("sim.sms", sender=body.get("sender"), text=body.get("text"), line=body.get("line"))


@blueprint.post("/sim/phones")
def sim_phone():
    """How a remote operator's phone answers the box: accept (presses 1), decline (2), voicemail (no key)..."""
    body = _json_body()
    return _daemon("sim.phone", number=body.get("number"), answer=body.get("answer"))


@blueprint.post("/sim/handsets/<handset>/offhook")
def sim_offhook(handset: str):
    return _daemon("sim.offhook", handset=handset)


@blueprint.post("/sim/handsets/<handset>/onhook")
def sim_onhook(handset: str):
    return _daemon("sim.onhook", handset=handset)
