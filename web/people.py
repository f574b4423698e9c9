"""People at work: operators (log in at a handset, pause, unpause), callbacks to do, the emergency announcement."""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from appliance.records.privacy import shown

from . import configure
from .i18n import language
from .i18n import translate as _
from .link import DaemonError, act, ask, inbox, viewer, viewer_role
from .pages import back_to, call_back, own_operator, status
from .security import can, requires

blueprint = Blueprint("people", __name__)

VERBS = ("login", "logout", "pause", "unpause")
ANNOUNCEMENT_PROMPT = "announcement"


class StateClock:
    """When the web app first saw each operator in their present state: the time in it, as far as it knows.

    The daemon's status names the state but not since when; this keeps the earliest sighting per state."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def seconds(self, operators: list[dict[str, Any]], now: float) -> dict[str, float]:
        with self._lock:
            for o in operators:
                if self._seen.get(o["name"], ("", 0.0))[0] != o["state"]:
                    self._seen[o["name"]] = (o["state"], now)
            return {o["name"]: now - self._seen[o["name"]][1] for o in operators}


def _clock() -> StateClock:
    return current_app.extensions.setdefault("operator_clock", StateClock())


def operators_now(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The status's operators with seconds_in_state (the daemon's own `since`, when it sends one)."""
    now = time.time()
    seconds = _clock().seconds(state.get("operators", []), now)
    return [{**o, "seconds_in_state": round(now - o["since"] if o.get("since") else seconds[o["name"]])}
            for o in state.get("operators", [])]


# Why a line's network does not hold callers for a remote operator (modem/remote_leg.py), in words; the
# modem's own reply (+CME ERROR: 3) is in the journal for whoever asks the operator about it.
REFUSALS = (("the network refused to hold the caller", "the network refuses to hold a caller on this line"),
            ("the network refused both a conference and explicit call transfer",
             "the network refuses both a conference and handing the call on"),
            ("an analogue (V.253) line cannot hold a caller", "an analogue line cannot hold a caller"))


def refusal_words(reason: str) -> str:
    if language() == "en":
        return reason
    return next((_(words) for start, words in REFUSALS if reason.startswith(start)), reason)


@blueprint.get("/operators")
@requires("supervisor")
def operators():
    state, error = status()
    lines = [{**line, "remote_refused": refusal_words(line["remote_refused"])} if line.get("remote_refused") else line
             for line in (state["lines"] if state else [])]
    return render_template("operators.html", operators=operators_now(state) if state else [],
                           handsets=state["handsets"] if state else [], lines=lines, error=error)


@blueprint.post("/operators/<name>")
def operator_action(name: str):
    """Supervisors act for anyone; an operator only for themself (their user name is their operator name)."""
    verb = request.form.get("verb")
    if verb not in VERBS:
        abort(400, f"verb must be one of {', '.join(VERBS)}")
    if not can("supervisor"):
        me = own_operator(status()[0])
        if me is None or me["name"] != name:
            abort(403, "an operator may log in, out and pause only themself")
    args: dict[str, Any] = {"operator": name}
    if verb == "login":
        args["handset"] = request.form.get("handset", "")
    if verb == "pause":
        args["reason"] = request.form.get("reason", "").strip()[:80]
        if not args["reason"]:
            abort(400, "a pause needs a reason")
    act(f"operator.{verb}", _("{name}: done.", name=name), **args)
    return redirect(back_to(url_for("people.operators")))


# --- callbacks --------------------------------------------------------------------


def _pending_callback(callback_id: int) -> dict[str, Any]:
    found = inbox().pending_callback(callback_id)
    if found is None:
        abort(404, f"no pending callback {callback_id}")
    return found


@blueprint.get("/callbacks")
@requires("supervisor")
def callbacks():
    role = viewer_role()
    pending = inbox().pending_callbacks()
    for row in pending:
        row["number"] = shown(row["number"], role)
    return render_template("callbacks.html", callbacks=pending)


@blueprint.post("/callbacks/<int:callback_id>/call")
@requires("supervisor")
def callback_now(callback_id: int):
    number = _pending_callback(callback_id)["number"]  # from the database: the page may show it masked
    if not number:
        abort(400, "this callback has no number left to call")
    call_back(number)
    return redirect(url_for("people.callbacks"))


@blueprint.post("/callbacks/<int:callback_id>/done")
@requires("supervisor")
def callback_done(callback_id: int):
    _pending_callback(callback_id)
    act("callback.done", _("Marked done."), id=callback_id, by=viewer())
    return redirect(url_for("people.callbacks"))


# --- the emergency announcement ------------------------------------------------------


@blueprint.post("/announcement")
@requires("supervisor")
def announcement():
    """On with a prompt (or typed words, kept as the `announcement` prompt first), optionally an SMS; or off."""
    form = request.form
    if form.get("action") == "off":
        act("announcement.set", _("The announcement is off."), prompt=None)
        return redirect(url_for("pages.dashboard"))
    prompt, words = form.get("prompt", ""), form.get("text", "").strip()
    if words:
        if not can("admin"):
            abort(403, "typing a new announcement makes a prompt: that is for the admin role")
        document = configure.current_document()
        lang = document.get("box", {}).get("language", "en")
        document.setdefault("prompts", {})[ANNOUNCEMENT_PROMPT] = {"text": words[:500], "lang": lang}
        saved, _problems = configure.save(document, "emergency announcement")
        if not saved:
            return redirect(url_for("pages.dashboard"))
        prompt = ANNOUNCEMENT_PROMPT
    if not prompt:
        abort(400, "choose a prompt or type the announcement")
    try:
        reply = ask("announcement.set", prompt=prompt, sms=form.get("sms", "").strip()[:300] or None)
    except DaemonError as exc:
        flash(str(exc), "error")
    else:
        flash(_("The announcement is on; {count} SMS queued.", count=reply.get("sms_queued", 0)), "info")
    return redirect(url_for("pages.dashboard"))
