"""Backup and restore: config, users, revisions, notes, prompt uploads, the privacy key, the call log and
(if asked) voicemail and call recordings in one tar.gz, sealed with the admin's passphrase (web/sealed.py).

The manifest carries the schema versions; a backup from newer software, or one whose databases are not sound
hotline databases (PRAGMA integrity_check, a known schema version), is refused before anything changes.

An uploaded archive is untrusted: it is read as a stream into a scratch directory (never whole into memory)
with limits on the number of members, each member's size and the total, and every recording under uploads/
must be audio (WAV, MP3, OGG or FLAC by its first bytes).

The archive itself; its pages (web/backup_pages.py) load this module with the first backup or restore, so an idle
web process holds neither tarfile and gzip nor the salvage checks (~0.5 MB).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import sqlite3
import tarfile
import tempfile
import time
import zlib
from pathlib import Path
from typing import IO, Any

from appliance.files import atomic_write, fsync_dir
from appliance.records.store.call_log import CALLS_VERSION, database_problem
from appliance.records.store.migrations import MIGRATIONS

from .i18n import Phrase, Refusal
from .i18n import translate as _
from .store import SCHEMA_VERSION

FORMAT = 1
MB = 1024 * 1024
MAX_MEMBERS = 5000  # a few dozen prompt recordings, and voicemail and call recordings when asked for
MAX_DATABASE = 256 * MB  # calls.db, web.db
MAX_UPLOAD = 20_000_000  # one recording: the prompt library's own upload limit
MAX_AUDIO = 256 * MB  # one voicemail or call recording (a whole call of 4 hours in FLAC is well below)
MAX_SMALL = MB  # manifest.json, config.toml
MAX_TOTAL = 640 * MB  # everything unpacked
MAX_HEADER = 64 * 1024  # a long-name or pax header; tarfile reads these whole into memory
CHUNK = MB
_UPLOAD_MEMBER = re.compile(r"uploads/[A-Za-z0-9][A-Za-z0-9._-]{0,120}")
_AUDIO_MEMBER = re.compile(r"(voicemail|recordings)/[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.flac")
_PRIVACY_KEY = re.compile(rb"[0-9a-f]{64}\s*")
AUDIO_DIRS = ("voicemail", "recordings")


class RestoreError(Refusal):
    """What is wrong with a backup, said before anything changes (in the page's language by words())."""


def _sqlite_copy(source: Path, target: Path, read_only: bool) -> None:
    """A consistent copy of a live database (SQLite's online backup), never a half-written file."""
    uri = f"file:{source}?mode=ro" if read_only else f"file:{source}"
    src = sqlite3.connect(uri, uri=True, timeout=5)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def manifest() -> dict[str, Any]:
    return {"format": FORMAT, "made_by": "hotline", "created_at": time.time(),
            "calls_schema": len(MIGRATIONS), "web_schema": SCHEMA_VERSION}


def make_backup(data_dir: Path, config_toml: str, out: IO[bytes], *, audio: bool = False) -> None:
    """Write the backup as a tar.gz to `out`; with `audio`, voicemail and call recordings go in too."""
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".backup-") as scratch, \
            tarfile.open(fileobj=out, mode="w:gz") as tar:
        def add_bytes(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))

        add_bytes("manifest.json", json.dumps(manifest(), indent=1).encode())
        add_bytes("config.toml", config_toml.encode())
        for name, read_only in (("web.db", False), ("calls.db", True)):
            if (data_dir / name).exists():
                copy = Path(scratch) / name
                _sqlite_copy(data_dir / name, copy, read_only)
                tar.add(copy, arcname=name)
        if (data_dir / "privacy.key").is_file():  # without it a restored box cannot read its pseudonyms
            tar.add(data_dir / "privacy.key", arcname="privacy.key")
        for folder in ("uploads", *(AUDIO_DIRS if audio else ())):
            if (data_dir / folder).is_dir():
                for path in sorted((data_dir / folder).iterdir()):
                    if path.is_file() and _limit(f"{folder}/{path.name}"):
                        tar.add(path, arcname=f"{folder}/{path.name}")


class _BoundedInfo(tarfile.TarInfo):
    """tarfile reads a long-name or pax header whole into memory: one larger than MAX_HEADER is refused first."""

    def _proc_gnulong(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        _header_size(self)
        return super()._proc_gnulong(tar)

    def _proc_pax(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        _header_size(self)
        return super()._proc_pax(tar)


def _header_size(info: tarfile.TarInfo) -> None:
    if info.size > MAX_HEADER:
        raise RestoreError("the backup has a {size}-byte member header; it was not made by this box", size=info.size)


class _Bounded(io.RawIOBase):
    """The unpacked stream, refused once more than `limit` bytes come out of it (a gzip bomb stops early)."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        super().__init__()
        self.raw, self.left = raw, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(min(len(buffer), self.left + 1))
        self.left -= len(data)
        if self.left < 0:
            raise RestoreError("the backup unpacks to more than {mb} MB; nothing was restored", mb=MAX_TOTAL // MB)
        buffer[:len(data)] = data
        return len(data)


def _limit(name: str) -> int | None:
    """The largest a member may be, or None when the name is not one a backup holds."""
    if name in ("manifest.json", "config.toml", "privacy.key"):
        return MAX_SMALL
    if _AUDIO_MEMBER.fullmatch(name):
        return MAX_AUDIO
    if name in ("web.db", "calls.db"):
        return MAX_DATABASE
    return MAX_UPLOAD if _UPLOAD_MEMBER.fullmatch(name) and ".." not in name else None


def read_backup(source: IO[bytes], scratch: Path) -> dict[str, Path]:
    """Every member of a backup by name, unpacked into `scratch`; RestoreError says what is wrong with it."""
    members: dict[str, Path] = {}
    for folder in ("uploads", *AUDIO_DIRS):
        (scratch / folder).mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=_Bounded(gzip.GzipFile(fileobj=source), MAX_TOTAL), mode="r|",
                          tarinfo=_BoundedInfo) as tar:
            for info in tar:
                name = info.name
                limit = _limit(name)
                # Only plain files under known names: nothing lands outside the data directory.
                if not info.isfile() or limit is None or name in members:
                    raise RestoreError("unexpected item {name!r} in the backup", name=name[:100])
                if info.size > limit:
                    raise RestoreError("{name} in the backup is {size:,} bytes, more than the {limit:,} a backup may "
                                       "hold for it; nothing was restored", name=name, size=info.size, limit=limit)
                if len(members) == MAX_MEMBERS:
                    raise RestoreError("the backup holds more than {n} files; nothing was restored", n=MAX_MEMBERS)
                members[name] = scratch / name
                with tar.extractfile(info) as data, open(members[name], "wb") as out:
                    shutil.copyfileobj(data, out, CHUNK)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        # Python's own words for the damage (not a gzip file, a truncated tar) help nobody restoring a box.
        raise RestoreError("this is not a hotline backup (a .tar.gz file); nothing was restored", error=str(exc)) \
            from None
    for name, path in members.items():
        if name.startswith(("uploads/", *(f"{d}/" for d in AUDIO_DIRS))) and _audio_type(path) is None:
            raise RestoreError("{name} in the backup is not a WAV, MP3, OGG or FLAC recording; nothing was restored",
                               name=name)
    if "privacy.key" in members and not _PRIVACY_KEY.fullmatch(members["privacy.key"].read_bytes()):
        raise RestoreError("the backup's privacy.key is not a privacy key; nothing was restored")
    if "manifest.json" not in members:
        raise RestoreError("the backup has no manifest.json: it was not made by this box")
    try:
        found = json.loads(members["manifest.json"].read_bytes())
    except ValueError:
        raise RestoreError("the backup's manifest.json is unreadable") from None
    if not isinstance(found, dict):
        raise RestoreError("the backup's manifest.json is unreadable")
    ours = manifest()
    for key, what in (("format", "backup format"), ("calls_schema", "call database schema"),
                      ("web_schema", "web database schema")):
        version = found.get(key)
        if not isinstance(version, int):
            raise RestoreError("the backup's manifest has no {key}", key=key)
        if version > ours[key]:
            raise RestoreError("this backup comes from newer hotline software ({what} version {version}; this box "
                               "knows up to {known}). Update the box first, then restore.", what=Phrase(what),
                               version=version, known=ours[key])
    for name, version_query, newest in (("calls.db", CALLS_VERSION, len(MIGRATIONS)),
                                        ("web.db", "PRAGMA user_version", SCHEMA_VERSION)):
        if name in members:
            _check_database(name, members[name], version_query, newest)
    return members


def _audio_type(path: Path) -> str | None:
    from appliance.audio.prompts import sniff  # the prompt library loads with a restore, not in every web process

    with open(path, "rb") as head:
        return sniff(head.read(16))


def _check_database(name: str, path: Path, version_query: str, newest: int) -> None:
    """A database in a backup must be a sound hotline database before it may replace anything."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / name  # checked on a copy: opening it may add -wal/-shm files beside it
        shutil.copyfile(path, copy)
        problem = database_problem(copy, version_query=version_query, newest=newest)
    if problem:
        raise RestoreError("the backup's {name} {problem}; nothing was restored", name=name, problem=Phrase(problem))


def restore(data_dir: Path, members: dict[str, Path]) -> list[str]:
    """Put the backup in place; returns what was done. The config is applied through the daemon by the caller."""
    done = []
    if "web.db" in members:
        _sqlite_copy(members["web.db"], data_dir / "web.db", read_only=True)
        done.append(_("users, config revisions and notes"))
    uploads = [n for n in members if n.startswith("uploads/")]
    if uploads:
        (data_dir / "uploads").mkdir(exist_ok=True)
        for name in uploads:
            atomic_write(data_dir / name, members[name].read_bytes(), mode=0o640)  # each at most MAX_UPLOAD
        done.append(_("{n} prompt recording(s)", n=len(uploads)))
    for folder in AUDIO_DIRS:
        files = [n for n in members if n.startswith(f"{folder}/")]
        if files:
            (data_dir / folder).mkdir(exist_ok=True)
            for name in files:
                _copy_whole(members[name], data_dir / name)
            done.append(_("{n} voicemail message(s)", n=len(files)) if folder == "voicemail"
                        else _("{n} call recording(s)", n=len(files)))
    if "privacy.key" in members:
        # The daemon reads it at start, like the call log whose pseudonyms it makes: both change together.
        _copy_whole(members["privacy.key"], data_dir / "privacy.key.restore")
        done.append(_("the privacy key (in force after the daemon's next restart)"))
    if "calls.db" in members:
        # The daemon is the only writer of calls.db: it checks the restored log again and swaps it in at
        # its next start, keeping the replaced log aside until the restored one has opened.
        _copy_whole(members["calls.db"], data_dir / "calls.db.restore")
        done.append(_("the call log (in force after the daemon's next restart)"))
    return done


def _copy_whole(source: Path, target: Path) -> None:
    """atomic_write for a file too large to hold in memory: copied beside the target, flushed, renamed."""
    scratch = target.with_name(f".{target.name}.new")
    with open(source, "rb") as src, open(scratch, "wb") as out:
        shutil.copyfileobj(src, out, CHUNK)
        out.flush()
        os.fchmod(out.fileno(), 0o640)
        os.fsync(out.fileno())
    os.replace(scratch, target)
    fsync_dir(target.parent)
