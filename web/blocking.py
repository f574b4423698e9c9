"""Blocking a caller from a call (the call page, the console) without anyone seeing the number: the call's
record holds the caller's pseudonym key, which goes into [[callers.blocked]] through an ordinary revision."""

from __future__ import annotations

import copy
from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, request, url_for

from . import configure, confirm
from .i18n import translate as _
from .link import call_log
from .pages import back_to
from .security import requires

blueprint = Blueprint("blocking", __name__)

# How long a block lasts, in days ("" blocks for good), as the form and its confirmation say it.
BLOCK_SPANS = {"1": "for a day", "7": "for a week", "30": "for a month", "365": "for a year", "": "for good"}


@blueprint.post("/calls/<call_id>/block")
@requires("operator")
def block_caller(call_id: str):
    back = back_to(url_for("records.call_detail", call_id=call_id))
    days = request.form.get("days", "30").strip()
    if days not in BLOCK_SPANS:
        abort(400, f"days: {days!r} is not one of 1, 7, 30, 365 or empty (for good)")
    try:
        key = call_log().key_of_call(call_id)
    except LookupError:
        abort(404, f"no call {call_id!r}")
    if key is None:
        flash(_("This caller withheld the number: there is nothing to block."), "error")
        return redirect(back)
    if not confirm.confirmed():  # a refused caller cannot reach the hotline at all: one stray tap must not do it
        return confirm.ask_first(_("Block this caller {span}? Their calls will be refused.",
                                   span=_(BLOCK_SPANS[days])), back, button=_("Yes, block the caller"))
    document = configure.current_document()
    new = copy.deepcopy(document)
    callers = new.setdefault("callers", {})
    blocked = [e for e in callers.get("blocked", []) if not (isinstance(e, dict) and e.get("key") == key)]
    entry = {"key": key, "note": f"call {call_id}"}
    if days:
        entry["until"] = (configure.today(document) + timedelta(days=int(days))).isoformat()
    callers["blocked"] = [*blocked, entry]
    if configure.save(new, f"the caller of call {call_id} blocked")[0]:
        flash(_("The caller is blocked until {until}.", until=entry.get("until", _("further notice"))), "info")
    return redirect(back)
