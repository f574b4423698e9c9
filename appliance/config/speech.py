"""The [speech] table: whether callers may answer by voice and voicemail is transcribed (docs/speech.md)."""

from __future__ import annotations

from typing import Any

from appliance.core.lean import lean

from ..core.problems import Problem

ENGINES = ("auto", "off")


@lean(frozen=True)
class Speech:
    engine: str = "auto"  # "auto": pocketsphinx for English, an uploaded Vosk model per language; "off"
    # Voicemail transcribed after the call, when an engine runs. Off unless asked for: the language model costs
    # ~70 MB more and a CPU-second per second of message, too much to impose on every small box.
    transcripts: bool = False
    min_free_mb: float = 150.0  # below this much free memory at start, speech stays off


def parse_speech(document: dict[str, Any], problems: list[Problem]) -> Speech:
    raw = document.get("speech", {})
    if not isinstance(raw, dict):
        problems.append(Problem("speech", "must be a table"))
        return Speech()
    engine = raw.get("engine", "auto")
    if engine not in ENGINES:
        problems.append(Problem("speech.engine", f"{engine!r} is not one of {', '.join(ENGINES)}"))
        engine = "auto"
    transcripts = raw.get("transcripts", False)
    if not isinstance(transcripts, bool):
        problems.append(Problem("speech.transcripts", "must be true or false"))
        transcripts = False
    free = raw.get("min_free_mb", Speech.min_free_mb)
    if isinstance(free, bool) or not isinstance(free, int | float) or free < 0:
        problems.append(Problem("speech.min_free_mb", "must be a non-negative number of megabytes"))
        free = Speech.min_free_mb
    return Speech(engine, transcripts, float(free))
