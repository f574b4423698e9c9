"""First-boot setup, log in and out, users and their roles and languages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from .i18n import translate as _
from .security import requires
from .store import LANGUAGES, ROLES, WebStore

blueprint = Blueprint("auth", __name__)


def _store() -> WebStore:
    return current_app.extensions["web_store"]


def _start_session(user: dict) -> None:
    session.clear()  # a fresh session (and CSRF token) on every login: no fixation
    session.permanent = True
    session["user_id"] = user["id"]


@blueprint.route("/setup", methods=["GET", "POST"])
def setup():
    if _store().has_users():
        return redirect(url_for("auth.login"))
    error = None
    if request.method == "POST":
        form = request.form
        if form.get("password") != form.get("password2"):
            error = _("The passwords differ.")
        else:
            try:
                user_id = _store().create_first_admin(form.get("username", ""), form.get("password", ""),
                                                      form.get("lang", "en"))
            except (ValueError, PermissionError) as exc:
                error = str(exc)
            else:
                _start_session(_store().user(user_id))
                return redirect(url_for("pages.dashboard"))
    return render_template("setup.html", error=error, languages=LANGUAGES), 400 if error else 200


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    if not _store().has_users():
        return redirect(url_for("auth.setup"))
    error = None
    if request.method == "POST":
        username = request.form.get("username", "")
        ip = request.remote_addr or "?"
        throttle = current_app.extensions["throttle"]
        wait = throttle.locked_for(ip, username)
        if wait:
            error = _("Too many failed attempts: try again in {seconds} s.", seconds=int(wait) + 1)
            return render_template("login.html", error=error), 429
        user = _store().authenticate(username, request.form.get("password", ""))
        if user is None:
            throttle.failed(ip, username)
            return render_template("login.html", error=_("Wrong user name or password.")), 401
        throttle.succeeded(ip, username)
        _start_session(user)
        target = request.args.get("next", "")
        # Only a local path: never bounce a fresh session to another site.
        if not target.startswith("/") or target.startswith("//"):
            target = url_for("pages.dashboard")
        return redirect(target)
    return render_template("login.html", error=error)


@blueprint.post("/logout")
def logout():
    session.clear()
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
            else:
                _store().add_user(form.get("username", ""), form.get("password", ""), form.get("role", ""),
                                  form.get("lang", "en"))
        except (ValueError, KeyError) as exc:
            error = str(exc)
        else:
            return redirect(url_for("auth.users"))
    return render_template("users.html", users=_store().users(), roles=ROLES, languages=LANGUAGES,
                           error=error), 400 if error else 200
