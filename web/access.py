"""Privacy and records for admins: a caller's data exported or erased, the audit log, API client tokens."""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for

from appliance.records.store.access import TOKEN_ROLES, AccessStore

from .i18n import translate as _
from .link import DaemonError, ask, viewer
from .security import requires

blueprint = Blueprint("access", __name__)


def _access() -> AccessStore:
    if "web_access" not in g:
        g.web_access = AccessStore(current_app.config["DATA_DIR"] / "access.db")
    return g.web_access


@blueprint.teardown_app_request
def _close(_exc: BaseException | None) -> None:
    store = g.pop("web_access", None)
    if store is not None:
        store.close()


def audit(action: str, target: str | None, detail: str | None, actor: str | None = None) -> None:
    """Record in the audit log that the person at this page (or `actor`, before a sign-in) did `action` to `target`."""
    _access().audit(f"web:{actor or viewer()}", action, target, at=time.time(), detail=detail)


@blueprint.get("/privacy")
@requires("admin")
def privacy():
    return render_template("privacy.html")


@blueprint.post("/privacy/export")
@requires("admin")
def export():
    caller = request.form.get("caller", "").strip()
    try:
        reply = ask("caller.export", timeout=30, caller=caller, actor=f"web:{viewer()}")
    except DaemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for("access.privacy"))
    body = json.dumps(reply["export"], ensure_ascii=False, indent=1)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=caller-export.json"})


@blueprint.post("/privacy/erase")
@requires("admin")
def erase():
    """Only when the number is typed twice: an erase cannot be undone."""
    caller, confirm = request.form.get("caller", "").strip(), request.form.get("confirm", "").strip()
    if not caller or confirm != caller:
        flash(_("Not erased: type the same number again to confirm."), "error")
        return redirect(url_for("access.privacy"))
    try:
        reply = ask("caller.erase", timeout=30, caller=caller, actor=f"web:{viewer()}")
    except DaemonError as exc:
        flash(str(exc), "error")
    else:
        removed = ", ".join(f"{table} {count}" for table, count in reply["erased"].items() if count)
        flash(_("Erased: {removed}.", removed=removed or "0"), "info")
    return redirect(url_for("access.privacy"))


@blueprint.get("/audit")
@requires("admin")
def audit_log():
    actor = request.args.get("actor", "").strip() or None
    entries = _access().audit_entries(limit=300, actor=actor)
    return render_template("audit.html", entries=entries, actor=actor or "")


@blueprint.route("/tokens", methods=["GET", "POST"])
@requires("admin")
def tokens():
    """API clients' tokens: a new one is shown once (only its hash is kept); revoking ends a client's access."""
    new_token = None
    if request.method == "POST":
        form = request.form
        try:
            if form.get("action") == "revoke":
                _access().revoke_tokens(form.get("client", ""), now=time.time())
                audit("token.revoke", form.get("client", ""), None)
                flash(_("Revoked."), "info")
            else:
                new_token = _access().create_token(form.get("client", ""), now=time.time(),
                                                   role=form.get("role", "operator"))
        except (ValueError, LookupError) as exc:
            flash(str(exc), "error")
            return redirect(url_for("access.tokens"))
        if new_token is None:
            return redirect(url_for("access.tokens"))
        audit("token.create", form.get("client", ""), f"role {form.get('role', 'operator')}")
    live = [t for t in _access().tokens() if t["revoked_at"] is None]
    return render_template("tokens.html", tokens=live, roles=TOKEN_ROLES, new_token=new_token,
                           new_client=request.form.get("client", "") if new_token else "")
