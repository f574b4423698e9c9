"""First-boot setup, log in and out, users and their roles and languages."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for

from . import confirm, firstboot
from .access import audit
from .i18n import translate as _
from .link import DaemonError, ask
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
            audit("login.failed", request.form.get("username", "")[:100], request.remote_addr, actor="?")
            return render_template("login.html", error=_("Wrong user name or password.")), 401
        try:
            start_session(user)
        except sqlite3.OperationalError as exc:  # a full data disk: no session can be recorded (docs/alarms.md)
            return render_template("login.html", error=_(
                "Cannot sign in: the box cannot write to its data disk ({error}). It still answers calls; "
                "`hotline check` on the box lists its alarms.", error=str(exc))), 503
        audit("login", user["username"], request.remote_addr, actor=user["username"])
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
                return _delete_user(int(form["id"]))
            if form.get("action") == "update":
                return _update_user(int(form["id"]))
            handset = _known_handset(form.get("handset") or None)
            _store().add_user(form.get("username", ""), form.get("password", ""), form.get("role", ""),
                              form.get("lang", "en"))
            if handset:
                added = next(u for u in _store().users() if u["username"] == form.get("username", "").strip())
                _store().update_user(added["id"], handset=handset)
            audit("user.add", form.get("username", ""), f"role {form.get('role')}")
            flash(_("User {name} added.", name=form.get("username", "")), "info")
            return redirect(url_for("auth.users"))
        except (ValueError, KeyError) as exc:
            error = str(exc)
    return render_template("users.html", users=_store().users(), roles=ROLES, languages=LANGUAGES,
                           error=error, handsets=_handsets()), 400 if error else 200


def _user(user_id: int) -> dict:
    user = next((u for u in _store().users() if u["id"] == user_id), None)
    if user is None:
        raise ValueError(f"no user with id {user_id}")
    return user


def _delete_user(user_id: int):
    user = _user(user_id)
    if user_id == g.user["id"]:
        raise ValueError("you cannot delete your own account")
    if not confirm.confirmed():
        return confirm.ask_first(_("Delete the user {name} ({role})? They can no longer sign in.",
                                   name=user["username"], role=_(user["role"])), url_for("auth.users"),
                                 button=_("Yes, delete {name}", name=user["username"]))
    _store().delete_user(user_id)
    audit("user.delete", user["username"], None)
    flash(_("User {name} deleted.", name=user["username"]), "info")
    return redirect(url_for("auth.users"))


def _update_user(user_id: int):
    form, user = request.form, _user(user_id)
    fields = {"role": form.get("role"), "lang": form.get("lang"),
              "handset": _known_handset(form.get("handset") or None)}
    if form.get("password"):
        fields["password"] = form["password"]
    demoted = fields["role"] in ROLES and ROLES.index(fields["role"]) > ROLES.index(user["role"])
    if demoted and user["role"] == "admin" and sum(u["role"] == "admin" for u in _store().users()) == 1:
        raise ValueError("the last admin cannot stop being admin: make another user admin first")
    if demoted and not confirm.confirmed():  # a lowered role locks pages away, the user's own ones too
        return confirm.ask_first(_("Lower {name}'s role from {old} to {new}? They lose the pages of a {old}.",
                                   name=user["username"], old=_(user["role"]), new=_(fields["role"])),
                                 url_for("auth.users"), button=_("Yes, make {name} {new}", name=user["username"],
                                                                 new=_(fields["role"])))
    _store().update_user(user_id, **fields)
    changed = [name for name in ("role", "lang", "handset") if fields[name] != user[name]]
    said = [f"{name}: {user[name]} -> {fields[name]}" for name in changed]
    audit("user.update", user["username"], ", ".join(said + (["password"] if "password" in fields else [])) or None)
    if user_id == g.user["id"]:
        start_session(_store().user(g.user["id"]))  # a new password ends the others' sessions, not this
    flash(_("User {name} saved.", name=user["username"]), "info")
    return redirect(url_for("auth.users"))


def _handsets() -> list[str]:
    """The handset ids the config has (empty while the box is unreachable)."""
    try:
        return [h["id"] for h in ask("config.get")["document"].get("handsets", []) if isinstance(h, dict)]
    except DaemonError:
        return []


def _known_handset(handset: str | None) -> str | None:
    """A user's handset must exist, else their console would watch a phone that is not there."""
    if handset is not None and handset not in _handsets():
        raise ValueError(_("There is no handset {id}: choose one of {known}.", id=handset,
                           known=", ".join(_handsets()) or _("(none configured)")))
    return handset
