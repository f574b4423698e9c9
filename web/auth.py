"""First-boot setup, log in and out, users and their roles and languages."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for

from . import firstboot
from .i18n import translate as _
from .security import end_session, requires, start_session
from .store import LANGUAGES, ROLES, WebStore

blueprint = Blueprint("auth", __name__)


def _store() -> WebStore:
    return current_app.extensions["web_store"]


def _local_path(target: str) -> str | None:
    """`target` if it is a path on this site, else None (no open redirect).

    Browsers drop tabs and newlines inside URLs and read a backslash as a slash, so "/<tab>/evil"
    and "/\\evil" mean //evil: any control character, space or backslash disqualifies a target.
    """
    if not target.startswith("/") or target.startswith("//"):
        return None
    if any(ord(ch) < 0x21 or ch in "\\\x7f" for ch in target):
        return None
    return target


@blueprint.route("/setup", methods=["GET", "POST"])
def setup():
    if _store().has_users():
        return redirect(url_for("auth.login"))
    error = None
    if request.method == "POST":
        form = request.form
        data_dir = current_app.config["DATA_DIR"]
        if not firstboot.matches(data_dir, form.get("setup_code", "")):
            error = _("Wrong setup code: see the box's journal, or run `hotline setup-code` on it.")
        elif form.get("password") != form.get("password2"):
            error = _("The passwords differ.")
        else:
            try:
                user_id = _store().create_first_admin(form.get("username", ""), form.get("password", ""),
                                                      form.get("lang", "en"))
            except PermissionError:
                return redirect(url_for("auth.login"))  # someone else finished setting the box up first
            except ValueError as exc:
                error = str(exc)
            else:
                firstboot.forget(data_dir)
                start_session(_store().user(user_id))
                return redirect(url_for("pages.dashboard"))
    return render_template("setup.html", error=error, languages=LANGUAGES), 400 if error else 200


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if not _store().has_users():
        return redirect(url_for("auth.setup"))
    error = None
    if request.method == "POST":
        user = _store().authenticate(request.form.get("username", ""), request.form.get("password", ""))
        if user is None:  # counted against the address and user name by the limits in web/signin.py
            return render_template("login.html", error=_("Wrong user name or password.")), 401
        try:
            start_session(user)
        except sqlite3.OperationalError as exc:  # a full data disk: no session can be recorded (docs/alarms.md)
            return render_template("login.html", error=_(
                "Cannot sign in: the box cannot write to its data disk ({error}). It still answers calls; "
                "`hotline check` on the box lists its alarms.", error=str(exc))), 503
        # Only a local path: never bounce a fresh session to another site.
        return redirect(_local_path(request.args.get("next", "")) or url_for("pages.dashboard"))
    return render_template("login.html", error=error)


@blueprint.post("/logout")
def logout():
    end_session()
    return redirect(url_for("auth.login"))


@blueprint.post("/logout/everywhere")
def logout_everywhere():
    """Ends this user's sessions in every browser (a lost tablet, a shared computer)."""
    _store().end_sessions(g.user["id"])
    end_session()
    return redirect(url_for("auth.login"))


@blueprint.post("/me/language")
def set_language():
    lang = request.form.get("lang")
    if lang not in LANGUAGES:
        abort(400, f"language must be one of {', '.join(LANGUAGES)}")
    _store().update_user(g.user["id"], lang=lang)
    return redirect(request.referrer if (request.referrer or "").startswith(request.host_url)
                    else url_for("pages.dashboard"))


@blueprint.route("/users", methods=["GET", "POST"])
@requires("admin")
def users():
    error = None
    if request.method == "POST":
        form = request.form
        try:
            if form.get("action") == "delete":
                if int(form["id"]) == g.user["id"]:
                    raise ValueError("you cannot delete your own account")
                _store().delete_user(int(form["id"]))
            elif form.get("action") == "update":
                fields = {"role": form.get("role"), "lang": form.get("lang"), "handset": form.get("handset") or None}
                if form.get("password"):
                    fields["password"] = form["password"]
                _store().update_user(int(form["id"]), **fields)
                if int(form["id"]) == g.user["id"]:
                    start_session(_store().user(g.user["id"]))  # a new password ends the others' sessions, not this
            else:
                _store().add_user(form.get("username", ""), form.get("password", ""), form.get("role", ""),
                                  form.get("lang", "en"))
        except (ValueError, KeyError) as exc:
            error = str(exc)
        else:
            return redirect(url_for("auth.users"))
    return render_template("users.html", users=_store().users(), roles=ROLES, languages=LANGUAGES,
                           error=error), 400 if error else 200
