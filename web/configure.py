"""Configuration pages: every save is checked as a whole, kept as a revision with its diff, and applied.

The config model (appliance.config, with the core it checks a document against) and the forms over it load
with the first config page or save, inside the functions that use them: ~2 MB that a web process serving only
the dashboard and the records never needs (docs/web.md, "Memory").
"""

from __future__ import annotations

import difflib
import io
import re
import tomllib
import wave
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w
from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.exceptions import ServiceUnavailable

from appliance.files import atomic_write

from . import boxtime, confirm
from .access import audit
from .i18n import translate as _
from .link import DaemonError, ask, live_status, viewer
from .security import requires

if TYPE_CHECKING:
    from appliance.audio.prompts import PromptLibrary

blueprint = Blueprint("configure", __name__, url_prefix="/config")

_UPLOAD_NAME = re.compile(r"[^A-Za-z0-9._-]")


def _store():
    return current_app.extensions["web_store"]


def current_document() -> dict[str, Any]:
    """The latest revision; the first visit keeps the daemon's running config as revision 1."""
    latest = _store().latest_revision()
    if latest is None:
        try:
            document = ask("config.get")["document"]
        except DaemonError as exc:
            abort(503, f"the running config cannot be read: {exc}")
        text = tomli_w.dumps(document)
        _store().add_revision(text, "", None, "the config the box was running")
        return document
    return tomllib.loads(latest["toml"])


def save(document: dict[str, Any], note: str) -> tuple[bool, list]:
    """Check, keep and apply a new document. Returns (saved, problems); nothing changes unless it is clean."""
    from appliance import config as configuration

    _config, problems = configuration.check(document)
    if any(p.severity == "error" for p in problems):
        flash(_("Not saved: fix the problems marked below."), "error")
        return False, problems
    previous = _store().latest_revision()
    text = tomli_w.dumps(document)
    if previous and previous["toml"] == text:
        flash(_("Nothing changed."), "info")
        return True, problems
    try:
        reply = ask("config.apply", timeout=30, toml=text)
    except DaemonError as exc:
        flash(_("The box refused the config: {error}", error=str(exc)), "error")
        return False, problems
    diff = "".join(difflib.unified_diff((previous["toml"] if previous else "").splitlines(keepends=True),
                                        text.splitlines(keepends=True), "before", "after"))
    revision = _store().add_revision(text, diff, g.user["username"] if g.user else "api", note)
    audit("config.save", f"revision {revision}", note or None)
    message = ("Saved as revision {id}; lines, handsets, operators and the queue change at the next restart "
               "(“Restart now” above)."
               if reply.get("restart_needed") else "Saved as revision {id} and applied.")
    flash(_(message, id=revision), "info")
    return True, problems


@blueprint.get("/")
@requires("admin")
def index():
    return redirect(url_for("configure.section", name="flow"))


@blueprint.route("/<name>", methods=["GET", "POST"])
@requires("admin")
def section(name: str):
    from appliance import config as configuration

    from . import forms

    if name not in forms.SECTIONS:
        abort(404, f"no config section {name!r}")
    document = current_document()
    problems: list = []
    if request.method != "POST":
        return _page(name, document, configuration.check(document)[1], 200)
    # "Add" saves nothing: it puts an empty item on the page, and the one Save keeps it with its fields and
    # whatever else was edited alongside (the new node and the menu key that leads to it, together).
    pending = request.form.getlist("new")
    try:
        draft = forms.with_pending(name, document, pending)
        new = forms.apply(name, draft, request.form)
        pending += forms.created(name, draft, new)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("configure.section", name=name))
    if request.form.get("action") == "add":
        new_name, new_type = request.form.get("new_name", "").strip(), request.form.get("new_type", "")
        try:
            new = forms.add(name, new, new_name, new_type)
            pending.append(f"{new_name}|{new_type}")
        except ValueError as exc:
            flash(str(exc), "error")
        # The saved config's problems only: an item just added is not wrong for being empty yet.
        return _page(name, new, configuration.check(document)[1], 200,
                     pending=forms.pending_present(name, new, pending))
    saved, problems = save(new, f"{name} edited")
    if saved:
        return redirect(url_for("configure.section", name=name))
    # Show what was typed, with its problems beside it; the unsaved new items stay on the page.
    return _page(name, new, problems, 400, pending=forms.pending_present(name, new, pending))


def _page(name: str, document: dict[str, Any], problems: list, status: int, **extra: Any):
    """A section's form, with the flow tree or the schedule's calendar above it."""
    from appliance.core.flow import NODE_TYPES

    from . import calendar_days, flowtree, forms, menu_rows

    opening = None
    if name == "schedule":
        try:
            opening = live_status()["schedule"]
        except DaemonError:
            opening = None
    return render_template(
        "config.html", section=name, sections=forms.SECTIONS, groups=forms.groups(name, document),
        problems=problems, problems_at=forms.problems_at, unplaced=forms.unplaced(problems, name, document),
        opening=opening, override=(opening or {}).get("override"), node_types=tuple(NODE_TYPES),
        menu_types=menu_rows.TYPES,
        tree=flowtree.build(document, problems) if name == "flow" else None,
        months=calendar_days.months(document, today(document)) if name == "schedule" else None,
        import_kinds=calendar_days.KINDS, **extra), status


@blueprint.route("/toml", methods=["GET", "POST"])
@requires("admin")
def toml():
    from . import forms

    problems: list = []
    text = tomli_w.dumps(current_document())
    if request.method == "POST":
        text = request.form.get("toml", "")
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            flash(f"not valid TOML: {exc}", "error")
            return render_template("config_toml.html", text=text, problems=[], sections=forms.SECTIONS), 400
        saved, problems = save(document, "TOML edited")
        if saved:
            return redirect(url_for("configure.toml"))
    return render_template("config_toml.html", text=text, problems=problems, sections=forms.SECTIONS)


@blueprint.get("/revisions")
@requires("admin")
def revisions():
    from . import forms

    try:
        current_document()
    except ServiceUnavailable:  # the daemon is away (the box restarting): the kept revisions still show
        pass
    return render_template("revisions.html", revisions=_store().revisions(), sections=forms.SECTIONS)


@blueprint.post("/revisions/<int:revision_id>/revert")
@requires("admin")
def revert(revision_id: int):
    old = _store().revision(revision_id)
    if old is None:
        abort(404, f"no revision {revision_id}")
    if not confirm.confirmed():  # the wrong revision was once reverted from a button under each diff
        latest = _store().latest_revision()
        undone = "".join(difflib.unified_diff((latest["toml"] if latest else "").splitlines(keepends=True),
                                              old["toml"].splitlines(keepends=True), "now", f"revision {revision_id}"))
        return confirm.ask_first(
            _("Revert the config to revision {id} ({when}, {who})? These changes will be made:", id=revision_id,
              when=boxtime.shown(old["created_at"]), who=old["username"] or "?"),
            url_for("configure.revisions"), detail=undone or _("(no difference from the config now)"),
            button=_("Yes, revert to revision {id}", id=revision_id))
    save(tomllib.loads(old["toml"]), f"reverted to revision {revision_id}")
    return redirect(url_for("configure.revisions"))


@blueprint.post("/handsets/<handset>/test-ring")
@requires("admin")
def test_ring(handset: str):
    try:
        ask("handset.test_ring", handset=handset, seconds=3)
        flash(f"{handset}: ringing for 3 s", "info")
    except DaemonError as exc:
        flash(str(exc), "error")
    return redirect(url_for("configure.section", name="handsets"))


def today(document: dict[str, Any]) -> date:
    """Today where the box is: the calendar starts at the schedule's own month."""
    zone = document.get("schedule", {}).get("timezone", "UTC") if isinstance(document.get("schedule"), dict) else "UTC"
    try:
        return datetime.now(ZoneInfo(str(zone))).date()
    except (ZoneInfoNotFoundError, ValueError):
        return datetime.now(UTC).date()


@blueprint.post("/schedule/day")
@requires("admin")
def schedule_day():
    """A click on a calendar day: a one-off holiday added, or removed again."""
    from . import calendar_days

    day = request.form.get("day", "")
    try:
        new = calendar_days.toggle_holiday(current_document(), day)
    except ValueError as exc:
        abort(400, str(exc))
    save(new, f"holiday {day} toggled")
    return redirect(url_for("configure.section", name="schedule") + "#calendar")


@blueprint.post("/schedule/import")
@requires("admin")
def schedule_import():
    """A list of dates (a national calendar, say) added as holidays or special working days, or none of them."""
    from appliance import config as configuration

    from . import calendar_days

    form = request.form
    kind, document = form.get("kind", "holiday"), current_document()
    try:
        new, count = calendar_days.import_dates(document, form.get("dates", "")[:20000], kind, form.get("hours", ""))
    except ValueError as exc:
        return _page("schedule", document, configuration.check(document)[1], 400,
                     import_error=str(exc), import_form=form)
    if count:
        save(new, f"{count} {kind} date(s) imported")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("configure.section", name="schedule") + "#calendar")


@blueprint.post("/restart")
@requires("admin")
def restart():
    """Restart the box so line and handset changes take effect; asks first, refused during a call."""
    if not confirm.confirmed():
        return confirm.ask_first(_("Restart the box now? Lines and handsets are set up again; for a few seconds "
                                   "no call is answered."), url_for("configure.revisions"),
                                 button=_("Yes, restart now"))
    try:
        ask("box.restart")
    except DaemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for("configure.revisions"))
    audit("box.restart", None, None)
    flash(_("The box is restarting: it answers calls again in a few seconds."), "info")
    return redirect(url_for("configure.revisions"))


@blueprint.post("/schedule/override")
@requires("supervisor")
def schedule_override():
    mode = request.form.get("mode")
    mode = None if mode == "follow" else mode
    until = None
    if mode and request.form.get("until"):
        try:
            until = boxtime.parse_local(request.form["until"])
        except ValueError:
            flash(_("“Until” is not a date and time: {value}", value=request.form["until"]), "error")
            return redirect(url_for("configure.section", name="schedule"))
    try:
        ask("schedule.override", mode=mode, until=until, by=viewer())
    except DaemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for("configure.section", name="schedule"))
    audit("schedule.override", mode or "follow the hours", boxtime.shown(until) if until else None)
    words = {"open": _("The hotline is forced open."), "closed": _("The hotline is forced closed."),
             None: _("The hotline follows its hours again.")}
    flash(words[mode], "info")
    return redirect(url_for("configure.section", name="schedule"))


def _library() -> PromptLibrary:
    from appliance.audio.prompts import PromptLibrary

    return PromptLibrary(current_app.config["DATA_DIR"] / "prompts")


@blueprint.get("/prompts/<name>.wav")
@requires("operator")
def prompt_wav(name: str):
    """A prompt as the caller hears it (8 kHz mono), wrapped as WAV so the browser can play it."""
    from appliance.audio.convert import without_paths
    from appliance.audio.prompts import PromptError

    document = current_document()
    spec = document.get("prompts", {}).get(name)
    if not isinstance(spec, dict):
        abort(404, f"no prompt {name!r}")
    library = _library()
    try:
        if "text" in spec:
            raw = library.samples(library.from_text(spec["text"], spec.get("lang", "en")))
        else:
            upload = current_app.config["DATA_DIR"] / "uploads" / spec["file"]
            raw = library.samples(library.from_upload(upload.read_bytes(), upload.name))
    except (PromptError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        abort(422, f"prompt {name}: {without_paths(reason)}")  # where the box keeps files is not shown
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(library.rate)
        wav.writeframes(raw)
    return Response(out.getvalue(), mimetype="audio/wav")


@blueprint.post("/prompts/<name>/upload")
@requires("admin")
def prompt_upload(name: str):
    document = current_document()
    if name not in document.get("prompts", {}):
        abort(404, f"no prompt {name!r}")
    return _upload(name, document)


@blueprint.post("/prompts/new-upload")
@requires("admin")
def prompt_upload_new():
    """A new prompt made from a recording in one step: its name and the file together."""
    from appliance.config.validators import identifier

    document, name = current_document(), request.form.get("name", "").strip()
    try:
        identifier(name)
    except ValueError as exc:
        flash(str(exc), "error")  # the daemon's own words, read in the page's language (web/patterns.py)
        return redirect(url_for("configure.section", name="prompts"))
    if name in document.get("prompts", {}):
        flash(_("There is already a prompt {name}: upload onto it below.", name=name), "error")
        return redirect(url_for("configure.section", name="prompts"))
    return _upload(name, document)


def _upload(name: str, document: dict[str, Any]):
    from appliance.audio.prompts import PromptError

    upload = request.files.get("recording")
    if upload is None or not upload.filename:
        flash("choose a WAV, MP3, OGG or FLAC file first", "error")
        return redirect(url_for("configure.section", name="prompts"))
    data = upload.read()
    try:
        _library().from_upload(data, upload.filename)  # refuses what the daemon could not play
    except PromptError as exc:
        flash(str(exc), "error")
        return redirect(url_for("configure.section", name="prompts"))
    # A plain name inside uploads/ (config.py refuses anything else as a prompt's file).
    filename = _UPLOAD_NAME.sub("_", f"{name}-{upload.filename[-60:]}").lstrip("._-")[-120:]
    uploads = current_app.config["DATA_DIR"] / "uploads"
    uploads.mkdir(exist_ok=True)
    atomic_write(uploads / filename, data, mode=0o640)
    document.setdefault("prompts", {})[name] = {"file": filename}
    save(document, f"prompt {name}: recording uploaded")
    return redirect(url_for("configure.section", name="prompts"))
