"""The daemon's speech: on where the config asks for it and the box can afford it, off (and said so) otherwise.

Nothing of an engine is imported here: the recogniser is a separate process (appliance/speech/worker.py),
started at once only when the flow has a speak node, and for voicemail transcripts when the first one
is due. A speak node on a box where speech is off still works: its callers use the keys (core/speak.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Config
from ..core import events as ev
from ..core.switchboard import Switchboard
from ..speech.capacity import Verdict, judge
from .alarms import Alarms

if TYPE_CHECKING:  # the recogniser's module (subprocess, json) loads only where speech is on
    from ..speech.recogniser import Recogniser

log = logging.getLogger(__name__)


class SpeechService:
    def __init__(self, data_dir: Path, post: Callable[[object], None], alarms: Alarms) -> None:
        self.models = data_dir / "speech" / "models"
        self._post = post
        self._alarms = alarms
        self.recogniser: Recogniser | None = None
        self.verdict = Verdict(False, "not configured")
        self.transcripts = False
        self.language = "en"

    def configure(self, config: Config, core: Switchboard) -> None:
        """Decide on speech for this config (at start and on every reload) and tell the core."""
        languages = sorted({lang for node in config.flow.nodes.values() if node.type == "speak"
                            for phrases in node.intents.values() for lang in phrases})
        speaks = any(node.type == "speak" for node in config.flow.nodes.values())
        if speaks or config.speech.transcripts:
            self.verdict = judge(config.speech.engine, config.speech.min_free_mb)
        else:
            self.verdict = Verdict(False, "no speak node and no transcripts configured")
        self.language = config.language
        self.transcripts = self.verdict.on and config.speech.transcripts
        core.plan.speech = self.verdict.on and speaks
        core.plan.language = config.language
        if speaks and not self.verdict.on:
            self._alarms.set("speech.off", "warning",
                             f"speech recognition is off: {self.verdict.why}; callers at speak nodes use the keys")
        else:
            self._alarms.clear("speech.off")
        if self.verdict.on and self.recogniser is None:
            from ..speech.recogniser import Recogniser

            self.recogniser = Recogniser(self._post, self.models, preload=tuple(languages))
        if speaks and self.recogniser is not None:
            self.recogniser.start()  # the engine loads now, not while the first caller waits

    def recognise(self, action: ev.Recognise) -> None:
        if self.recogniser is not None:
            self.recogniser.recognise(action)
        else:
            from ..speech.recogniser import unlink_quietly

            unlink_quietly(action.path)
            if action.intents:
                self._post(ev.SpeechHeard(action.line, action.call_id, None, 0.0, "speech is off"))

    def transcribe(self, call_id: str, path: str) -> None:
        """A voicemail was saved: its text is made after the call, where speech runs and transcripts are on."""
        if self.transcripts and self.recogniser is not None:
            self.recogniser.transcribe(call_id, path, self.language)

    def transcript_due(self) -> bool:
        """Whether a voicemail saved now gets a transcript (its alert waits for it); read on the alert thread."""
        return self.transcripts and self.recogniser is not None

    def status(self) -> dict[str, Any]:
        recogniser = self.recogniser
        return {"on": self.verdict.on, "why": self.verdict.why, "transcripts": self.transcripts,
                "worker_pid": recogniser.pid if recogniser else None,
                "worker_peak_mb": round(recogniser.peak_kb / 1024, 1) if recogniser else None}

    def close(self) -> None:
        if self.recogniser is not None:
            self.recogniser.close()
            self.recogniser = None

