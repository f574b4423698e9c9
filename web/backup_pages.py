"""The backup page, a download and a restore (the archive itself: web/backup.py, loaded with the first of them)."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for

from . import configure, sealed
from .access import audit
from .i18n import translate as _
from .security import requires

if TYPE_CHECKING:
    from .backup import RestoreError

blueprint = Blueprint("backup", __name__)


@blueprint.get("/backup")
@requires("admin")
def page():
    return render_template("backup.html")


@blueprint.post("/backup/download")
@requires("admin")
def download():
    import tomli_w

    from .backup import make_backup

    passphrase = request.form.get("passphrase", "")
    if passphrase != request.form.get("passphrase2", ""):
        flash(_("The two passphrases differ; no backup was made."), "error")
        return render_template("backup.html"), 400
    if len(passphrase) < sealed.MIN_PASSPHRASE:
        flash(_("The passphrase must be at least {n} characters; no backup was made.", n=sealed.MIN_PASSPHRASE),
              "error")
        return render_template("backup.html"), 400
    data_dir, audio = current_app.config["DATA_DIR"], request.form.get("audio") == "yes"
    # Built and sealed in files on the data disk (never whole in memory: voicemail can be large).
    archive, out = tempfile.TemporaryFile(dir=data_dir), tempfile.TemporaryFile(dir=data_dir)
    with archive:
        make_backup(data_dir, tomli_w.dumps(configure.current_document()), archive, audio=audio)
        archive.seek(0)
        sealed.seal(archive, out, passphrase)
    size = out.tell()
    out.seek(0)
    name = f"hotline-backup-{datetime.now():%Y%m%d-%H%M}.sealed"
    audit("backup.download", name, f"{size} bytes" + (", with voicemail and recordings" if audio else ""))
    return send_file(out, mimetype="application/octet-stream", as_attachment=True, download_name=name)


def _unsealed(upload: IO[bytes], passphrase: str, scratch: Path) -> IO[bytes]:
    """The archive inside a sealed backup, in a scratch file; a backup made before sealing is read as it is."""
    from .backup import RestoreError

    head = upload.read(len(sealed.MAGIC))
    upload.seek(0)
    if not sealed.is_sealed(head):
        return upload
    target = scratch / "backup.tar.gz"
    try:
        with open(target, "wb") as out:
            for chunk in sealed.unseal(upload, passphrase):
                out.write(chunk)
    except sealed.WrongPassphrase:
        raise RestoreError("Wrong passphrase: nothing was restored.") from None
    except sealed.SealError as exc:
        raise RestoreError("The backup cannot be opened ({error}); nothing was restored.", error=exc) from None
    return open(target, "rb")


def _refused(upload: Any, refusal: RestoreError):
    """The restore page again with why nothing was restored: in the page's language, and in English in the audit."""
    flash(refusal.words(), "error")
    audit("backup.restore.refused", upload.filename if upload else None, str(refusal)[:500])
    return render_template("backup.html"), 400


@blueprint.post("/backup/restore")
@requires("admin")
def upload():
    import tomllib

    from appliance import config as configuration  # the config model (~2 MB) loads with a restore (configure.py)

    from .backup import RestoreError, read_backup, restore

    upload = request.files.get("backup")
    # Unpacked on the data disk, not in /tmp (RAM on a Pi), and removed whatever happens.
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=current_app.config["DATA_DIR"]) as scratch:
        try:
            if upload is None or not upload.filename:
                raise RestoreError("Choose a backup file first; nothing was restored.")
            if request.form.get("replace") != "yes":  # the server checks it: no script or stray click skips it
                raise RestoreError("Tick “Replace this box's config and records” to confirm; nothing was restored.")
            with _unsealed(upload.stream, request.form.get("passphrase", ""), Path(scratch)) as archive:
                members = read_backup(archive, Path(scratch) / "members")
            config = members.get("config.toml")
            document = tomllib.loads(config.read_text(encoding="utf-8") if config else "")
            if configuration.check(document)[0] is None:
                raise RestoreError("the backup's config.toml has errors; nothing was restored")
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return _refused(upload, RestoreError("the backup's config.toml is not valid TOML; nothing was restored",
                                                 error=str(exc)))
        except RestoreError as exc:
            return _refused(upload, exc)
        done = restore(current_app.config["DATA_DIR"], members)
    configure.save(document, "restored from a backup")
    audit("backup.restore", upload.filename, ", ".join(done) or "the config")
    flash(_("Restored: {what}.", what="; ".join([_("the config"), *done])), "info")
    return redirect(url_for("backup.page"))
