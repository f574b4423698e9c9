"""The voices a prompt can be spoken in, and a sample of each for an admin to hear before choosing.

espeak-ng is always there; RHVoice where its package is installed (`RHVoice-test`); a Piper voice once its
.onnx and .onnx.json are uploaded (models.py) and `piper-tts` is installed. A sample is a short WAV made
by the engine's own command, with a timeout like every prompt's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from .models import installed_voices

TIMEOUT = 30.0
SAMPLES = {"en": "Hello. You have reached the helpline. Please tell us in a few words what you need.",
           "ru": "Здравствуйте. Вы позвонили на горячую линию. Скажите в двух словах, что вам нужно."}


@dataclass(frozen=True)
class Voice:
    id: str  # "espeak-ng:ru", "rhvoice:anna", "piper:ru_RU-irina-medium"
    language: str
    ready: bool  # False: uploaded, but its engine is not installed here
    why: str = ""


def voices(voices_dir: Path) -> list[Voice]:
    found = [Voice(f"espeak-ng:{lang}", lang, shutil.which("espeak-ng") is not None, "espeak-ng is not installed")
             for lang in ("en", "ru")]
    if shutil.which("RHVoice-test"):
        found += [Voice("rhvoice:anna", "ru", True), Voice("rhvoice:slt", "en", True)]
    piper = find_spec("piper") is not None
    for name in installed_voices(voices_dir):
        found.append(Voice(f"piper:{name}", "ru" if name.startswith("ru") else "en", piper,
                           "" if piper else "pip install piper-tts to speak with it"))
    return found


def sample(voice_id: str, voices_dir: Path) -> bytes:
    """A WAV of the voice reading a sentence in its language; ValueError naming the voice if it cannot."""
    known = {v.id: v for v in voices(voices_dir)}
    voice = known.get(voice_id)
    if voice is None:
        raise ValueError(f"no voice {voice_id!r}; known: {', '.join(known)}")
    if not voice.ready:
        raise ValueError(f"voice {voice_id}: {voice.why}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sample.wav"
        render(voice_id, SAMPLES[voice.language], voices_dir, out, "a sample")
        return out.read_bytes()


def render(voice_id: str, text: str, voices_dir: Path, out_wav: Path, what: str) -> None:
    """`text` spoken into the WAV `out_wav` by the voice's own command; ValueError naming voice and text if not."""
    engine, _, name = voice_id.partition(":")
    if engine == "espeak-ng":
        command = ["espeak-ng", "-v", "en-us" if name == "en" else name, "-w", str(out_wav), "--stdin"]
    elif engine == "rhvoice":
        command = ["RHVoice-test", "-p", name, "-o", str(out_wav)]
    else:
        command = [sys.executable, "-m", "piper", "-m", str(voices_dir / f"{name}.onnx"), "-f", str(out_wav)]
    try:
        done = subprocess.run(command, input=text.encode(), capture_output=True, timeout=TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ValueError(f"voice {voice_id} could not speak {what}: {exc}") from None
    if done.returncode != 0 or not out_wav.exists():
        raise ValueError(f"voice {voice_id} could not speak {what}: "
                         f"{done.stderr.decode(errors='replace').strip()[-200:]}")
