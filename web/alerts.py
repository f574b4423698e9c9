"""The alerts page (admins): every alert the box made and what became of it, the SMTP relay's password (kept
as data/smtp-password, 0600, never in the config document), and where each user's alerts reach them."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from appliance.config.alerts import PASSWORD_FILE
from appliance.files import atomic_write
from appliance.records.store.alerts import recent

from .access import audit
from .i18n import translate as _
from .security import requires

blueprint = Blueprint("alerts", __name__)
_EMAIL = re.compile(r"[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_PHONE = re.compile(r"\+?[0-9]{3,20}")


def _store():
    return current_app.extensions["web_store"]


@blueprint.get("/alerts")
@requires("admin")
def page():
    return render_template("alerts.html", alerts=recent(current_app.config["DATABASE"]), users=_store().contacts(),
                           password_set=(current_app.config["DATA_DIR"] / PASSWORD_FILE).exists())


@blueprint.post("/alerts/password")
@requires("admin")
def password():
    value = request.form.get("password", "")
    if not value.strip() or len(value) > 512 or "\n" in value:
        flash(_("Type the relay's password (one line)."), "error")
        return redirect(url_for("alerts.page"), 303)
    atomic_write(current_app.config["DATA_DIR"] / PASSWORD_FILE, value.strip() + "\n")  # 0600, like every secret
    audit("alerts.password", "smtp", None)
    flash(_("The relay's password is saved; the next e-mail uses it."), "ok")
    return redirect(url_for("alerts.page"), 303)


@blueprint.post("/alerts/contacts/<int:user_id>")
@requires("admin")
def contact(user_id: int):
    email, phone = request.form.get("email", "").strip(), request.form.get("phone", "").strip()
    if email and not _EMAIL.fullmatch(email):
        flash(_("{value} is not an e-mail address.", value=email[:80]), "error")
    elif phone and not _PHONE.fullmatch(phone):
        flash(_("{value} is not a phone number (digits with an optional leading +).", value=phone[:80]), "error")
    elif not any(u["id"] == user_id for u in _store().contacts()):
        flash(_("No such user."), "error")
    else:
        _store().set_contact(user_id, email or None, phone or None)
        audit("alerts.contact", f"user {user_id}", None)
        flash(_("Saved."), "ok")
    return redirect(url_for("alerts.page"), 303)
