"""Speech on the web page: the voices an admin can hear and choose from, and uploads of voices and models.

appliance.speech (with tarfile and zipfile for the uploads, ~0.7 MB) loads with the first speech page, inside
the functions that use it, not in every web process (docs/web.md, "Memory").
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for

from .access import audit
from .i18n import translate as _
from .security import requires

blueprint = Blueprint("speech", __name__)


def _dirs():
    data = current_app.config["DATA_DIR"]
    return data / "speech" / "models", data / "voices"


@blueprint.get("/speech")
@requires("admin")
def page():
    from appliance.speech.models import installed_models
    from appliance.speech.voices import voices

    models, voices_dir = _dirs()
    return render_template("speech.html", voices=voices(voices_dir), models=installed_models(models))


@blueprint.get("/speech/voice/<voice_id>.wav")
@requires("admin")
def hear(voice_id: str):
    from appliance.speech.voices import sample

    try:
        return Response(sample(voice_id, _dirs()[1]), mimetype="audio/wav")
    except ValueError as exc:
        abort(404, str(exc))


@blueprint.post("/speech/model")
@requires("admin")
def upload_model():
    from appliance.speech.models import UploadError, install_model

    upload, language = request.files.get("model"), request.form.get("language", "")
    if upload is None or not upload.filename:
        flash(_("Choose a model's .zip or .tar.gz first."), "error")
        return redirect(url_for("speech.page"))
    try:
        install_model(upload.read(), upload.filename, language, _dirs()[0])
    except UploadError as exc:
        flash(str(exc), "error")
        return redirect(url_for("speech.page"))
    audit("speech.model", language, upload.filename)
    flash(_("Model {name} installed for {language}.", name=upload.filename, language=language), "info")
    return redirect(url_for("speech.page"))


@blueprint.post("/speech/voice")
@requires("admin")
def upload_voice():
    from appliance.speech.models import UploadError, install_voice

    onnx, config = request.files.get("onnx"), request.files.get("config")
    if onnx is None or not onnx.filename or config is None or not config.filename:
        flash(_("Choose the voice's .onnx and its .onnx.json."), "error")
        return redirect(url_for("speech.page"))
    try:
        name = install_voice(onnx.read(), onnx.filename, config.read(), config.filename, _dirs()[1])
    except UploadError as exc:
        flash(str(exc), "error")
        return redirect(url_for("speech.page"))
    audit("speech.voice", name, onnx.filename)
    flash(_("Voice {name} installed.", name=name), "info")
    return redirect(url_for("speech.page"))
