"""Subprocess helpers: espeak-ng speaks, sox turns any audio into the line format.

The line format is raw signed 16-bit little-endian mono at the line's rate: what the players
write to ALSA or frame for a V.253 modem, with no header to parse at call time.
"""

from __future__ import annotations

import re
from pathlib import Path

# Bumped whenever the effect chain changes, so cached prompts made the old way are not reused.
PIPELINE_VERSION = "2"  # 2: speech level -26 dBov and a lead-in (loudness.py)

SPEAK_TIMEOUT = 30.0
SOX_TIMEOUT = 60.0

# Peak level after sox's normalisation, before loudness.py sets the speech level: the trim threshold below
# is relative to it.
NORM_DB = -3.0

# Sound below this fraction of full scale (-54 dBFS) counts as silence to trim at the ends; 0.5% already
# clips soft leading consonants ("th", "f") once the 8 kHz resampler has removed their upper band.
SILENCE_THRESHOLD = "0.2%"
SILENCE_MIN = "0.05"

# espeak-ng voice per language code; "en" would give British English, a US voice is the
# clearer default over narrowband GSM.
VOICES = {
    "en": "en-us",
    "en-us": "en-us",
    "en-gb": "en-gb",
    "ru": "ru",
    "uk": "uk",
    "be": "be",
    "kk": "kk",
    "de": "de",
    "fr": "fr-fr",
    "es": "es",
    "it": "it",
    "pl": "pl",
    "pt": "pt",
    "tr": "tr",
}


class PromptError(ValueError):
    """A prompt could not be made; the message names the prompt or file and what is wrong."""


def voice_for(lang: str) -> str:
    """The espeak-ng voice for a language code such as "en", "ru" or "en_US"."""
    code = lang.strip().lower().replace("_", "-")
    voice = VOICES.get(code) or VOICES.get(code.split("-")[0])
    if not code or voice is None:
        raise PromptError(f"unknown prompt language {lang!r}; supported: {', '.join(sorted(VOICES))}")
    return voice


_PATH = re.compile(r"/(?:[^\s'`\"/]+/)+([^\s'`\"/]+)")


def without_paths(text: str) -> str:
    """A message for a person: absolute paths cut to their last part (where files live is the box's business)."""
    return _PATH.sub(lambda m: m.group(1), text)


def _summarise(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    # sox prefixes every message with "sox FAIL formats:" and the like; the last lines say why it stopped.
    return without_paths("; ".join(lines[-3:])) or "no error output"


def run_tool(argv: list[str], what: str, *, stdin: bytes | None = None, timeout: float) -> bytes:
    """Run a tool to completion and return its stdout; any failure is a PromptError about `what`."""
    import subprocess  # prompts are made in a child process (prompt_process.py): the daemon never runs a tool here

    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise PromptError(f"{what}: {argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise PromptError(f"{what}: {argv[0]} took longer than {timeout:g} s") from exc
    if done.returncode != 0:
        raise PromptError(f"{what}: {argv[0]} failed ({_summarise(done.stderr)})")
    return done.stdout


def speak(text: str, voice: str, out_wav: Path, what: str) -> None:
    """Synthesise `text` into a WAV file; the text goes through stdin so a leading "-" is not an option."""
    run_tool(["espeak-ng", "-v", voice, "-w", str(out_wav), "--stdin"], what,
             stdin=text.encode("utf-8"), timeout=SPEAK_TIMEOUT)


def duration(src: Path, what: str) -> float:
    """Length in seconds as the file's header (or a scan, for MP3) reports; soxi goes by the file's suffix."""
    out = run_tool(["soxi", "-D", str(src)], what, timeout=SOX_TIMEOUT)
    try:
        return float(out.strip())
    except ValueError as exc:
        raise PromptError(f"{what}: cannot tell its length ({out[:80]!r})") from exc


def to_line_format(src: Path, dst: Path, rate: int, what: str, src_type: str | None = None, *,
                   max_seconds: float | None = None) -> None:
    """Decode, mix to mono, resample, normalise the peak and trim silence at both ends into raw S16LE
    (the speech level and the lead-in are set afterwards, by loudness.normalise).

    max_seconds: decoding stops a second past it, whatever the file's header claims (a FLAC declaring
    0 samples made sox decode 12 hours, 670 MB of temporary files, before the length was refused).
    """
    in_args = ["-t", src_type] if src_type else []
    bound = ["trim", "0", f"{max_seconds + 1:g}"] if max_seconds is not None else []
    run_tool(
        ["sox", "-D", "-V1", *in_args, str(src),
         "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-c", "1", "-r", str(rate), str(dst), *bound,
         # Resample before normalising so the peak is measured on what the line will actually carry.
         "remix", "-", "rate", "-h", str(rate), "norm", str(NORM_DB),
         # Trimming after norm keeps the threshold relative to full scale even for quiet recordings.
         "silence", "1", SILENCE_MIN, SILENCE_THRESHOLD, "reverse",
         "silence", "1", SILENCE_MIN, SILENCE_THRESHOLD, "reverse"],
        what, timeout=SOX_TIMEOUT)
