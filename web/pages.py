"""The live pages: dashboard (with the emergency announcement), the operator console (tablet-sized), the bench.

Whatever an operator writes about a call goes to the daemon (call.note, call.type, ticket.open, contact.save):
it is the only writer of calls.db. The console reads it back with CallLog.call.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState

from appliance.records.store.calls import CALL_TYPES

from . import boxtime
from .access import audit
from .charts import CHART_WORDS, hours_today
from .i18n import translate as _
from .knowledge import search
from .link import DaemonError, act, ask, call_log, live_status, viewer, viewer_role
from .security import can, requires
from .words import state_word

blueprint = Blueprint("pages", __name__)

CATEGORIES = ("legal", "psychology", "health", "housing", "family", "work", "other")

def status() -> tuple[dict | None, str | None]:
    try:
        return live_status(), None
    except DaemonError as exc:
        return None, str(exc)


def own_operator(state: dict | None) -> dict | None:
    """The operator this user is (same name, any case), for logging themself in, out and pausing."""
    if not state or not g.get("user"):
        return None
    me = g.user["username"].casefold()
    return next((o for o in state.get("operators", []) if o["name"].casefold() == me), None)


def back_to(default: str) -> str:
    """The form's `back` path when it is a local one (never another site)."""
    back = request.form.get("back", "")
    return back if back.startswith("/") and not back.startswith("//") else default


@blueprint.get("/")
def dashboard():
    prompts: list[str] = []
    if can("supervisor"):
        try:
            prompts = sorted(ask("config.get")["document"].get("prompts", {}))
        except DaemonError:
            pass  # the dashboard's poll shows that the box is unreachable
    now = boxtime.now()  # today and its hours on the box's clock, as the figures above the chart count them
    offset = (now.utcoffset() or timedelta()).total_seconds()
    per_hour = call_log().stats(boxtime.midnight(now.date()), now.timestamp() + 1, utc_offset=offset)["per_hour"]
    chart = hours_today(per_hour, {word: _(word) for word in CHART_WORDS})
    state, _problem = status()
    return render_template("dashboard.html", prompts=prompts, chart=chart,
                           opening=state["schedule"] if state else None)


@blueprint.get("/console")
def console():
    """What the operator at a handset sees: the caller now on it, their history, and the notes form."""
    state, error = status()
    handsets = state["handsets"] if state else []
    chosen = request.args.get("handset") or g.user.get("handset") or (handsets[0]["id"] if handsets else None)
    # A call ringing this handset shows before the receiver is lifted: the operator reads, then answers.
    live = next((c for c in state["calls"] if c.get("handset") == chosen or chosen in c.get("ringing", ())),
                None) if state else None
    record = call_log().call(live["id"], role=viewer_role()) if live else None
    # The stored caller, else the live one as this role may see it (the record can lag the call).
    caller = (record or {}).get("caller") or (live.get("caller") if live else None)
    kb = request.args.get("kb", "")[:200]
    found, kb_error = search(kb)
    me = own_operator(state)
    # Without a call on the desk: the operator's own last callers, to call back as the helpline.
    recent = call_log().search(limit=5, role=viewer_role(), operator=me["name"]) if me and not live else []
    return render_template("console.html", handsets=handsets, chosen=chosen, live=live, record=record, caller=caller,
                           me=me, error=error, call_types=CALL_TYPES, categories=CATEGORIES,
                           kb=kb, kb_found=found, kb_error=kb_error, recent=recent)


def call_back(number: str) -> None:
    """A logged-in operator calls back as the helpline: their handset (or their own phone) rings first, then the box
    dials the caller from the helpline's line (their number stays private). Anyone else files it for the next
    free operator."""
    me = own_operator(status()[0])
    if me is not None and me.get("handset"):
        done = _("Your phone rings now: press 1, and the box dials the caller from the helpline's number.") \
            if me["handset"].startswith("phone:") else \
            _("Your handset rings now: lift it, and the box dials the caller from the helpline's number.")
        act("callback.request", done, number=number, operator=me["name"])
    else:
        act("callback.request", _("Calling back now."), number=number)


@blueprint.post("/console/callback")
def console_callback():
    """Call back one of the operator's own callers (a supervisor: anyone's); the number comes from the database."""
    call_id = request.form.get("call_id", "")
    found = call_log().call(call_id[:64]) if call_id else None
    if found is None:
        abort(400, "no such call")
    me = own_operator(status()[0])
    if not can("supervisor") and (me is None or found.get("operator") != me["name"]):
        abort(403, "an operator may call back only their own callers")
    number = found.get("caller") or ""
    if not re.fullmatch(r"\+?[0-9]{3,20}", number):
        abort(400, "this call's number is withheld or not kept, so it cannot be called back")
    call_back(number)
    return redirect(back_to(url_for("pages.console")))


@blueprint.post("/calls/<call_id>/notes")
def add_note(call_id: str):
    """A note, a call type and category, and a ticket for one call, each through the daemon."""
    form = request.form
    if len(call_id) > 64:
        abort(400, "no such call")
    call_type, category = form.get("call_type", ""), form.get("category", "").strip() or None
    if call_type and call_type not in CALL_TYPES:
        abort(400, f"call type must be one of {', '.join(CALL_TYPES)}")
    text, ticket = form.get("text", "").strip()[:4000], form.get("ticket", "").strip()[:200]
    if not (call_type or text or ticket):
        abort(400, "write a note, choose a call type or give a ticket a title")
    if call_type:
        act("call.type", _("Call type saved."), call=call_id, type=call_type, category=category)
    if text:
        act("call.note", _("Note saved."), call=call_id, author=viewer(), text=text)
    if ticket:
        act("ticket.open", _("Ticket opened."), call=call_id, title=ticket, author=viewer())
    return redirect(back_to(url_for("pages.console")))


@blueprint.post("/console/contact")
def save_contact():
    """A name and note for the caller on a handset now; the number comes from the daemon, not the form."""
    state, error = status()
    if state is None:
        abort(503, error)
    live = next((c for c in state["calls"] if c["id"] == request.form.get("call_id")), None)
    if live is None or not live.get("caller"):
        abort(400, "a contact needs a call in progress from a number that is not withheld")
    act("contact.save", _("Contact saved."), call=live["id"], name=request.form.get("name", "").strip()
        or None, note=request.form.get("note", "").strip()[:2000] or None, author=viewer())
    return redirect(back_to(url_for("pages.console")))


@blueprint.post("/console/transfer")
def transfer_call():
    """Hand the caller on to a competent service: an operator only the call on their own handset, a supervisor
    any connected call; the daemon checks the call is connected and the number is an allowed target."""
    state, error = status()
    if state is None:
        abort(503, error)
    live = next((c for c in state["calls"] if c["id"] == request.form.get("call_id")), None)
    if live is None:
        abort(400, "that call has ended")
    number = request.form.get("number", "").strip()
    if not re.fullmatch(r"\+?[0-9]{3,20}", number):
        abort(400, "give the number to hand the caller to, e.g. +78001234567")
    handset = None
    if viewer_role() == "operator":
        handset = (own_operator(state) or {}).get("handset") or g.user.get("handset")
        if handset is None or live.get("handset") != handset:
            abort(403, "an operator can transfer only the call on their own handset")
    act("call.transfer", _("Transferring the caller."), call=live["id"], number=number, handset=handset)
    return redirect(back_to(url_for("pages.console")))


@blueprint.post("/console/handover")
def hand_over():
    """Warm transfer to another desk or to someone with a skill; an operator only the call on their own handset."""
    form = request.form
    target = form.get("to", "")
    to, skill = (target[len("desk:"):], None) if target.startswith("desk:") else (None, target[len("skill:"):])
    if not (to or skill):
        abort(400, "choose the desk or the skill to hand the caller over to")
    handset = None
    if viewer_role() == "operator":
        handset = (own_operator(status()[0]) or {}).get("handset") or g.user.get("handset")
    act("call.handover", _("The caller hears music while the other desk rings."), call=form.get("call_id", ""),
        to=to, skill=skill, stay=form.get("stay") == "1", handset=handset)
    return redirect(back_to(url_for("pages.console")))


@blueprint.post("/console/barge")
@requires("supervisor")
def barge():
    """A supervisor joins a connected call from their own lifted handset: heard, or listening only."""
    form = request.form
    act("call.barge", _("You are in the call.") if form.get("listen") != "1" else _("You are listening."),
        call=form.get("call_id", ""), handset=form.get("handset", ""), listen=form.get("listen") == "1")
    return redirect(back_to(url_for("pages.console")))


@blueprint.get("/calls/<call_id>/listen")
@requires("supervisor")
def listen(call_id: str):
    """The caller's audio of a live call, streamed as it is captured (WAV of unknown length), and audited."""
    listeners: threading.BoundedSemaphore = current_app.extensions["listeners"]
    if not listeners.acquire(blocking=False):
        abort(503, _("{n} people are listening to calls already, as many as the box streams at once: try again "
                     "when one of them stops.", n=LISTENERS))
    try:
        link, rate = _listen_link(call_id)
    except BaseException:
        listeners.release()
        raise

    def stream():
        yield _wav_header(rate)
        try:
            while chunk := link.recv(4096):  # the daemon closes it when the call ends
                yield chunk
        except OSError:
            pass  # the daemon went quiet for STREAM_SILENCE seconds, or the browser went away

    response = Response(stream(), mimetype="audio/wav", headers={"Cache-Control": "no-store"})
    # Called when the server is done with the stream, even one it never started (the browser left at once).
    response.call_on_close(link.close)
    response.call_on_close(listeners.release)
    return response


def _listen_link(call_id: str) -> tuple[socket.socket, int]:
    """The daemon's socket with the call's audio, the listening audited."""
    try:
        reply = ask("call.listen", call=call_id[:64])
    except DaemonError as exc:
        abort(400, str(exc))
    audit("listen", f"call {call_id[:64]}", "live, in the browser")
    link = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    link.settimeout(STREAM_SILENCE)
    try:
        link.connect(reply["socket"])
    except OSError as exc:
        link.close()
        abort(503, f"the call's audio is not available: {exc}")
    return link, int(reply["rate"])


# Each browser listening holds one of the web server's 4 threads (appliance/cli/serve_web.py) for as long as the
# call lasts. With no bound, 4 listeners took them all: every other page, the dashboards and sign-ins waited
# until a call ended. At most this many at once leaves the other threads to everyone else.
LISTENERS = 2


@blueprint.record_once
def _bound_listeners(state: BlueprintSetupState) -> None:
    state.app.extensions["listeners"] = threading.BoundedSemaphore(LISTENERS)

STREAM_SILENCE = 30.0  # seconds without audio before the stream is given up


def _wav_header(rate: int) -> bytes:
    """A mono 16-bit PCM WAV header for a stream of unknown length (sizes at their maximum, as players expect)."""
    fmt = struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + fmt + b"data" + struct.pack("<I", 0xFFFFFFFF)


@blueprint.post("/tickets/<int:ticket_id>")
@requires("supervisor")
def update_ticket(ticket_id: int):
    act("ticket.update", _("Ticket saved."), id=ticket_id, status=request.form.get("status") or None,
        assignee=request.form.get("assignee") or None)
    return redirect(back_to(url_for("records.call_log")))


@blueprint.get("/bench")
@requires("operator")
def bench():
    """Simulation only: a phone to call the box and the handsets to lift, driving /api/sim/; the call in
    progress told in words (where in the flow, what the caller hears) from the daemon's status."""
    state, error = status()
    try:
        nodes = {name: node.get("type") for name, node in ask("config.get")["document"]["flow"]["nodes"].items()}
    except (DaemonError, KeyError, AttributeError):
        nodes = {}  # the call card still shows the node's name
    return render_template("bench.html", status=state, error=error, nodes=nodes, words=bench_words())


def bench_words() -> dict[str, str]:
    """What the bench's script says, in the page's language ({name} placeholders filled there)."""
    return {
        "calling": _("The phone rings the box from {caller}…"), "key": _("The caller pressed {key}."),
        "speaks": _("The caller speaks for {seconds} s."), "hangup": _("The caller hung up."),
        "lift": _("{handset}: receiver lifted."), "replace": _("{handset}: receiver put down."),
        "silence": _("silence: the box waits for the caller"), "tone:beep": _("a beep: recording starts"),
        "tone:ringback": _("the ringing tone"), "recording": _("Recording: press “Caller speaks” to leave a message"),
        "no_text": _("the recorded prompt “{prompt}”"), "seconds": _("{seconds} s"),
        "voicemail": _("leaving a message"),
        **{state: state_word(state) for state in ("in menu", "answering", "waiting", "ringing operators",
                                                  "connected", "idle", "ringing", "on call", "off-hook", "moving")},
    }
