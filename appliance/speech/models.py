"""Uploaded speech models and voices: checked before anything is written, installed whole or not at all.

A Vosk model arrives as the .zip (or .tar.gz) its authors publish and is unpacked into
`<data>/speech/models/<language>/`; a Piper voice is its `.onnx` with the `.onnx.json` beside it, kept in
`<data>/voices/`. Every refusal is an UploadError whose message names the file and what is wrong with it,
and leaves what was installed as it was.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ..core.flow import LANGUAGES

MAX_UNPACKED = 2 * 1024 ** 3  # a small Vosk model unpacks to ~70 MB, a big one to ~2 GB: more is not a model
# What a Vosk model holds (alphacephei.com/vosk/models): its acoustic model, its features' settings, a graph.
MODEL_PARTS = ("am/final.mdl", "conf/mfcc.conf")
MODEL_GRAPHS = ("graph/HCLG.fst", "graph/HCLr.fst", "graph/Gr.fst")
_VOICE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


class UploadError(ValueError):
    """An upload refused: the message names the file and the fault."""


def install_model(data: bytes, filename: str, language: str, models: Path) -> Path:
    """Unpack a Vosk model archive for `language`, replacing the one before; the model's directory."""
    if language not in LANGUAGES:
        raise UploadError(f"{filename}: the language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    members = _members(data, filename)
    root = _model_root(members, filename)
    models.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".upload-", dir=models))
    try:
        _unpack(data, filename, root, work)
        target, old = models / language, models / f".old-{language}"
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            os.replace(target, old)
        os.replace(work, target)
        shutil.rmtree(old, ignore_errors=True)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def install_voice(onnx: bytes, onnx_name: str, config: bytes, config_name: str, voices: Path) -> str:
    """Keep a Piper voice (model and its JSON); the voice's name, from the model's file name."""
    if not onnx_name.endswith(".onnx"):
        raise UploadError(f"{onnx_name}: a Piper voice's model is an .onnx file")
    if len(onnx) < 1024 or onnx[:1] != b"\x08":  # an ONNX model is a protobuf opening with its IR version
        raise UploadError(f"{onnx_name}: not an ONNX model (its first bytes are not an ONNX header)")
    try:
        settings = json.loads(config)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UploadError(f"{config_name}: not JSON ({exc})") from None
    rate = settings.get("audio", {}).get("sample_rate") if isinstance(settings, dict) else None
    if not isinstance(rate, int) or not isinstance(settings.get("phoneme_id_map"), dict):
        raise UploadError(f"{config_name}: not a Piper voice's settings (audio.sample_rate and phoneme_id_map "
                          "missing); upload the .onnx.json published with the voice")
    name = _VOICE_NAME.sub("_", onnx_name.removesuffix(".onnx"))[-80:].lstrip("._-") or "voice"
    voices.mkdir(parents=True, exist_ok=True)
    for suffix, content in ((".onnx", onnx), (".onnx.json", config)):
        part = voices / f".{name}{suffix}.part"
        part.write_bytes(content)
        os.replace(part, voices / f"{name}{suffix}")
    return name


def installed_models(models: Path) -> dict[str, str]:
    """Language -> the model's own name (its README's first line, or the directory) for each model installed."""
    found = {}
    for language in LANGUAGES:
        model = models / language
        if (model / MODEL_PARTS[0]).is_file():
            readme = model / "README"
            found[language] = (readme.read_text(errors="replace").splitlines() or [language])[0][:80] \
                if readme.is_file() else language
    return found


def installed_voices(voices: Path) -> list[str]:
    return sorted(p.name.removesuffix(".onnx") for p in voices.glob("*.onnx") if p.with_suffix(".onnx.json").exists())


def _members(data: bytes, filename: str) -> dict[str, int]:
    """Archive member -> unpacked size, refusing what is not an archive, escapes its directory, or is a bomb."""
    try:
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                entries = {i.filename: i.file_size for i in archive.infolist() if not i.is_dir()}
        elif data[:2] == b"\x1f\x8b":
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                if any(not (m.isfile() or m.isdir()) for m in archive.getmembers()):
                    raise UploadError(f"{filename}: holds links or devices; a model is plain files")
                entries = {m.name: m.size for m in archive.getmembers() if m.isfile()}
        else:
            raise UploadError(f"{filename}: not a .zip or .tar.gz archive (upload the model as published)")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise UploadError(f"{filename}: the archive is damaged ({exc})") from None
    for name in entries:
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts:
            raise UploadError(f"{filename}: {name!r} would be written outside the model's directory")
    if sum(entries.values()) > MAX_UNPACKED:
        raise UploadError(f"{filename}: unpacks to more than {MAX_UNPACKED // 1024 ** 3} GB")
    return entries


def _model_root(members: dict[str, int], filename: str) -> str:
    """The directory inside the archive that holds the model ("" or the one top directory it was packed in)."""
    for name in members:
        if name.endswith(MODEL_PARTS[0]):
            root = name[: -len(MODEL_PARTS[0])]
            missing = [p for p in MODEL_PARTS if root + p not in members]
            if not any(root + g in members for g in MODEL_GRAPHS):
                missing.append("graph/HCLG.fst (or HCLr.fst)")
            if missing:
                raise UploadError(f"{filename}: not a whole Vosk model: {', '.join(missing)} missing")
            return root
    raise UploadError(f"{filename}: not a Vosk model: it holds no am/final.mdl")


def _unpack(data: bytes, filename: str, root: str, into: Path) -> None:
    def place(name: str) -> Path | None:
        return into / name[len(root):] if name.startswith(root) and name != root else None

    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                target = place(info.filename)
                if target is not None and not info.is_dir():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(info) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        return
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            target = place(member.name)
            source = archive.extractfile(member) if member.isfile() else None
            if target is not None and source is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, open(target, "wb") as dst:
                    shutil.copyfileobj(source, dst)
