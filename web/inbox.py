"""Inboxes: voicemail with playback (every listen audited), and the SMS the box received and sent."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for

from appliance.records.privacy import shown

from .access import audit
from .i18n import translate as _
from .link import DaemonError, act, ask, inbox, viewer, viewer_role
from .security import requires

blueprint = Blueprint("inbox", __name__)


def _caller_of(call_rows: list[dict]) -> None:
    """Each row's caller as stored with its call, shown as the viewer's role may see it."""
    role = viewer_role()
    for row in call_rows:
        row["caller"] = shown(row.pop("stored_caller", None), role)


@blueprint.get("/voicemail")
@requires("supervisor")
def voicemail():
    words = request.args.get("q", "")[:200]
    messages = inbox().voicemails(words)
    _caller_of(messages)
    return render_template("voicemail.html", messages=messages, words=words)


@blueprint.get("/voicemail/<int:voicemail_id>.flac")
@requires("supervisor")
def voicemail_audio(voicemail_id: int):
    """The message as recorded (Chromium and Firefox play FLAC); opening it marks it listened and is audited."""
    found = inbox().voicemail(voicemail_id)
    if found is None:
        abort(404, f"no voicemail {voicemail_id}")
    data_dir = current_app.config["DATA_DIR"].resolve()
    path = (data_dir / found["path"]).resolve()
    if not path.is_relative_to(data_dir) or not path.is_file():
        abort(404, f"the recording of voicemail {voicemail_id} is missing")
    # A player fetches in ranges; only the first fetch is a listen worth recording.
    if request.headers.get("Range", "bytes=0-").startswith("bytes=0-"):
        audit("listen", f"voicemail {voicemail_id}", f"call {found['call_id']}")
        try:
            ask("voicemail.listened", id=voicemail_id)
        except DaemonError:
            pass  # the message still plays; it stays unmarked until the box answers
    return send_file(path, mimetype="audio/flac", conditional=True, max_age=0)


@blueprint.post("/voicemail/<int:voicemail_id>/callback")
@requires("supervisor")
def voicemail_callback(voicemail_id: int):
    """Call the person who left the message: the number comes from their call while it is kept in full."""
    number = inbox().voicemail_caller(voicemail_id)
    if not number or not number.lstrip("+").isdigit():
        abort(400, "this box keeps no full number for that caller (privacy mode), so it cannot call back")
    act("callback.request", _("Calling back now."), number=number)
    audit("callback", f"voicemail {voicemail_id}", None)
    return redirect(url_for("inbox.voicemail"))


@blueprint.get("/sms")
@requires("supervisor")
def sms():
    direction = request.args.get("direction", "")
    if direction not in ("", "in", "out"):
        abort(400, "direction must be in or out")
    messages = inbox().sms(direction or None)
    _caller_of(messages)
    return render_template("sms.html", messages=messages, direction=direction, actor=viewer())
