"""The text line's pages (docs/texts.md): open conversations, one conversation with its messages, and the reply
form with the admin's canned replies. Replies, taking a conversation over and closing it go through the daemon
(it alone holds the caller's number and the modem). A text is shown escaped, its control characters as visible
symbols; it is kept exactly as it came."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from markupsafe import Markup, escape

from appliance.records.privacy import shown
from appliance.records.store.texts import conversation, conversations

from .i18n import translate as _
from .link import DaemonError, act, ask, viewer, viewer_role

blueprint = Blueprint("texts", __name__)
MAX_REPLY = 1600  # characters: ten SMS parts of 7-bit text, about twenty of UCS-2


@blueprint.app_template_filter("visible")
def visible(text: str | None) -> Markup:
    """Markup shown as typed, and a control character (bell, escape ...) as its Unicode picture (␇, ␛)."""
    shown_text = "".join(chr(0x2400 + ord(c)) if ord(c) < 0x20 and c != "\n" else "␡" if c == "\x7f" else c
                         for c in text or "")
    return Markup(str(escape(shown_text)).replace("\n", Markup("<br>")))


def _path():
    return current_app.config["DATABASE"]


def _mine_first(rows: list[dict]) -> list[dict]:
    role, me = viewer_role(), viewer().casefold()
    for row in rows:
        row["caller"] = shown(row.pop("stored_caller", None), role)
        row["mine"] = (row["operator"] or "").casefold() == me
    return sorted(rows, key=lambda r: (not r["mine"], r["operator"] is not None))


@blueprint.get("/texts")
def index():
    return render_template("texts.html", open=_mine_first(conversations(_path())),
                           closed=_mine_first(conversations(_path(), "closed"))[:20])


@blueprint.get("/texts/<int:conversation_id>")
def view(conversation_id: int):
    head, messages = conversation(_path(), conversation_id)
    if head is None:
        abort(404, f"no conversation {conversation_id}")
    head["caller"] = shown(head.pop("stored_caller", None), viewer_role())
    try:
        canned = ask("text.canned")["canned"]
    except DaemonError:
        canned = []  # the page still shows the conversation; replying waits for the box
    return render_template("text.html", head=head, messages=messages, canned=canned, max_reply=MAX_REPLY)


@blueprint.post("/texts/<int:conversation_id>/reply")
def reply(conversation_id: int):
    text = request.form.get("text", "").strip() or request.form.get("canned", "").strip()
    if not text or len(text) > MAX_REPLY:
        abort(400, f"write a reply of 1 to {MAX_REPLY} characters, or choose a ready one")
    act("text.reply", _("Reply sent."), id=conversation_id, text=text, author=viewer())
    return redirect(url_for("texts.view", conversation_id=conversation_id), 303)


@blueprint.post("/texts/<int:conversation_id>/take")
def take(conversation_id: int):
    act("text.take", _("The conversation is yours."), id=conversation_id, operator=viewer())
    return redirect(url_for("texts.view", conversation_id=conversation_id), 303)


@blueprint.post("/texts/<int:conversation_id>/close")
def close(conversation_id: int):
    act("text.close", _("Conversation closed."), id=conversation_id, by=viewer())
    return redirect(url_for("texts.index"), 303)
