"""The voice's part: what the player, the recorder and the recogniser tell the core, and what it asks of them."""

from __future__ import annotations

from appliance.core.lean import lean

# --- events: adapters -> core -------------------------------------------------


@lean(frozen=True)
class PromptFinished:
    """A prompt played to its end (not emitted when it was stopped)."""

    line: str
    prompt: str


@lean(frozen=True)
class RecordingFinished:
    """A voicemail or call recording ended; path is None when it was discarded (too short)."""

    line: str
    path: str | None
    seconds: float
    reason: str  # "key", "silence", "max length", "stopped", "too short"


@lean(frozen=True)
class SpeechHeard:
    """The recogniser's answer to a Recognise: the intent it heard, or None (unsure, nothing said, engine off)."""

    line: str
    call_id: str = ""
    intent: str | None = None
    confidence: float = 0.0
    reason: str | None = None  # why no intent: "unsure", "nothing heard", "busy", "failed: ..."


@lean(frozen=True)
class Transcribed:
    """A voicemail's text, made after the call by the recogniser (None: it could not be made, reason says why)."""

    call_id: str = ""
    text: str | None = None
    reason: str | None = None


# --- actions: core -> adapters ------------------------------------------------


@lean(frozen=True)
class Play:
    line: str
    prompt: str
    loop: bool = False


@lean(frozen=True)
class StopAudio:
    line: str


@lean(frozen=True)
class StartRecording:
    """Record the caller into path (compressed by the recorder); stop on '#' if stop_on_key."""

    line: str
    path: str
    max_seconds: float
    silence_seconds: float
    min_seconds: float
    stop_on_key: bool = True


@lean(frozen=True)
class StopRecording:
    line: str


@lean(frozen=True)
class Recognise:
    """Which of `intents` the caller said in the audio at `path` (deleted once heard); SpeechHeard answers."""

    line: str
    call_id: str
    path: str
    language: str
    intents: tuple[tuple[str, tuple[str, ...]], ...]  # (intent, its phrases in `language`)
