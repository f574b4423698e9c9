"""The recognisers themselves, loaded only in the speech worker process (worker.py), never in the daemon.

Each engine takes 16 kHz signed 16-bit mono PCM (the worker converts the line's 8 kHz audio) and offers
`intent(pcm, intents) -> (intent, confidence)` with a grammar limited to the intents' phrases, and
`transcribe(pcm) -> text` for voicemail. pocketsphinx (English model in its wheel) is always there;
Vosk runs from a model an admin uploaded, one per language (models.py), when the vosk package is installed.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib.util import find_spec
from pathlib import Path
from typing import Protocol

from .grammar import FILLERS, Intents, choose, jsgf, words

RATE = 16000  # the models' rate: the line's 8 kHz audio is resampled to it (its upper band stays empty)
_VARIANT = re.compile(r"\(\d+\)$")  # pocketsphinx's alternative pronunciations: "a(2)"


class Engine(Protocol):
    name: str

    def intent(self, pcm: bytes, intents: Intents) -> tuple[str | None, float]: ...

    def transcribe(self, pcm: bytes) -> str: ...


class Pocketsphinx:
    name = "pocketsphinx"

    def __init__(self) -> None:
        from pocketsphinx import Decoder, get_model_path

        model = Path(get_model_path()) / "en-us"
        self._lm = str(model / "en-us.lm.bin")
        self._decoder = Decoder(hmm=str(model / "en-us"), dict=str(model / "cmudict-en-us.dict"),
                                jsgf=None, lm=None, loglevel="FATAL")
        self._grammars: set[str] = set()

    def intent(self, pcm: bytes, intents: Intents) -> tuple[str | None, float]:
        known = {w for _, phrases in intents for p in phrases for w in words(p) if self._decoder.lookup_word(w)}
        known |= {w for w in FILLERS if self._decoder.lookup_word(w)}
        grammar = jsgf(intents, known)
        name = "g" + hashlib.sha1(grammar.encode()).hexdigest()[:12]
        if name not in self._grammars:  # a node's grammar is built once per worker
            self._decoder.add_jsgf_string(name, grammar)
            self._grammars.add(name)
        self._decoder.activate_search(name)
        heard = self._decode(pcm)
        return choose(intents, heard)

    def transcribe(self, pcm: bytes) -> str:
        if "lm" not in self._grammars:  # the full language model (~65 MB more) only once a voicemail asks
            self._decoder.add_lm_file("lm", self._lm)
            self._grammars.add("lm")
        self._decoder.activate_search("lm")
        return " ".join(word for word, _ in self._decode(pcm))

    def _decode(self, pcm: bytes) -> list[tuple[str, int]]:
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()
        if self._decoder.hyp() is None:
            return []
        return [(_VARIANT.sub("", seg.word), seg.end_frame - seg.start_frame + 1) for seg in self._decoder.seg()
                if not seg.word.startswith(("<", "[", "("))]


class Vosk:
    """Kaldi through Vosk, from an uploaded model directory (models.py checks its layout)."""

    name = "vosk"

    def __init__(self, model_dir: Path) -> None:
        import vosk

        vosk.SetLogLevel(-1)
        self._vosk = vosk
        self._model = vosk.Model(str(model_dir))

    def intent(self, pcm: bytes, intents: Intents) -> tuple[str | None, float]:
        phrases = sorted({" ".join(p.split()) for _, ps in intents for p in ps})
        recognizer = self._vosk.KaldiRecognizer(self._model, RATE, json.dumps([*phrases, "[unk]"]))
        recognizer.SetWords(True)
        recognizer.AcceptWaveform(pcm)
        result = json.loads(recognizer.FinalResult())
        # words in 10 ms frames, as pocketsphinx counts them; "[unk]" (anything else said) matches no phrase
        heard = [(w["word"], max(1, round(100 * (w["end"] - w["start"])))) for w in result.get("result", [])]
        return choose(intents, heard)

    def transcribe(self, pcm: bytes) -> str:
        recognizer = self._vosk.KaldiRecognizer(self._model, RATE)
        recognizer.AcceptWaveform(pcm)
        return str(json.loads(recognizer.FinalResult()).get("text", ""))


def available() -> list[str]:
    """The engines installed here, by name (found without importing them: the daemon must stay small)."""
    return [name for name in ("pocketsphinx", "vosk") if find_spec(name) is not None]


def load(language: str, models: Path) -> Engine | None:
    """The engine for `language`: an uploaded Vosk model first, else pocketsphinx for English; None: none."""
    model = models / language
    if (model / "am" / "final.mdl").exists() and find_spec("vosk") is not None:
        return Vosk(model)
    if language == "en" and find_spec("pocketsphinx") is not None:
        return Pocketsphinx()
    return None

