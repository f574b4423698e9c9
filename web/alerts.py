"""The alerts page (admins): every alert the box made and what became of it, the SMTP relay's password (kept
as data/smtp-password, 0600, never in the config document), and where each user's alerts reach them."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup, escape

from appliance.files import atomic_write
from appliance.records.store.alerts import recent

from .access import audit
from .i18n import language
from .i18n import translate as _
from .security import requires

blueprint = Blueprint("alerts", __name__)
_EMAIL = re.compile(r"[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_PHONE = re.compile(r"\+?[0-9]{3,20}")
# The sender's own reasons (appliance/alerts/sender.py, service/alerting.py, alerts/mailer.py) in words.
_REASONS = (
    (re.compile(r"no \[smtp\] relay is configured"), "No mail relay is set in the configuration."),
    (re.compile(r"(OSError: )?the relay needs a password: none is set.*"),
     "The mail relay needs a password: set it below."),
    (re.compile(r"no line is up to send the SMS from"), "No line was up to send the SMS from."),
    (re.compile(r"the modem gave no verdict within (?P<seconds>\d+) s"),
     "The modem did not say within {seconds} s whether the SMS went."),
)
# Any other reason is an exception's or the modem's own text: a headline for its channel, the text kept beside it
# for whoever mends the relay or the line.
_HEADLINES = {"email": "The mail relay could not be reached or refused the e-mail.",
              "sms": "The modem refused the SMS."}


def _store():
    return current_app.extensions["web_store"]


@blueprint.app_template_global()
def alert_error(channel: str, text: str) -> Markup:
    """Why an alert is not sent yet, in the page's language."""
    if language() == "en":
        return escape(text)
    for pattern, words in _REASONS:
        found = pattern.fullmatch(text)
        if found:
            return escape(_(words, **found.groupdict()))
    headline = _(_HEADLINES.get(channel, "The alert could not be sent."))
    return Markup('{} <small class="detail" translate="no" lang="en">{}</small>').format(headline, text)


def _password_file() -> Path:
    """Where the daemon reads the relay's password. Imported here: appliance.config, its package, loads the whole
    config model (~2 MB with the core), which a web process that never shows this page does without."""
    from appliance.config.alerts import PASSWORD_FILE

    return current_app.config["DATA_DIR"] / PASSWORD_FILE


@blueprint.get("/alerts")
@requires("admin")
def page():
    return render_template("alerts.html", alerts=recent(current_app.config["DATABASE"]), users=_store().contacts(),
                           password_set=_password_file().exists())


@blueprint.post("/alerts/password")
@requires("admin")
def password():
    value = request.form.get("password", "")
    if not value.strip() or len(value) > 512 or "\n" in value:
        flash(_("Type the relay's password (one line)."), "error")
        return redirect(url_for("alerts.page"), 303)
    atomic_write(_password_file(), value.strip() + "\n")  # 0600, like every secret
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
