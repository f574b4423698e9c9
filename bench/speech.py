"""Speech: CPU per second of speech and peak memory of the speech worker, for each engine present.

    .venv/bin/python bench/speech.py [--quick]

The real worker process (appliance/speech/worker.py) is fed the answers of tests/support/speech.py's accuracy
set (espeak-ng, GSM 06.10, 8 kHz, FLAC as the recorder leaves them) through the daemon's Recogniser, then a
voicemail of ~8 s to transcribe. Per engine and job: the worker's own CPU seconds over the seconds of audio
(from its answers: process time, so other load on the machine does not count) and its peak RSS (ru_maxrss).
Vosk is measured only where `vosk` is installed and a model is in --models/<lang>.
"""

from __future__ import annotations

import argparse
import queue
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.audio.takes import encode_flac  # noqa: E402
from appliance.core import events as ev  # noqa: E402
from appliance.speech.recogniser import Recogniser  # noqa: E402
from tests.support.speech import INTENTS, SAID, phone_speech  # noqa: E402

VOICEMAIL = ("Hello, this is about my flat. The landlord says I have to leave by Friday and I do not know "
             "what to do. Please call me back.")


def _flac(workdir: Path, name: str, words: str) -> str:
    raw = workdir / f"{name}.raw"
    raw.write_bytes(phone_speech(words) + bytes(3200))
    encode_flac(str(raw), str(workdir / f"{name}.flac"), 8000)
    raw.unlink()
    return str(workdir / f"{name}.flac")


class _Timed(Recogniser):
    """The daemon's Recogniser, keeping each answer's own figures (cpu_seconds, audio_seconds) as well."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.figures: list[dict[str, Any]] = []

    def _answer(self, meta: Any, reply: dict[str, Any]) -> None:
        self.figures.append(reply)
        super()._answer(meta, reply)


def measure(language: str, models: Path, count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        answers = [_flac(workdir, str(i), words) for i, (words, _) in enumerate(SAID[:count])]
        message = _flac(workdir, "voicemail", VOICEMAIL)
        events: queue.Queue = queue.Queue()
        recogniser = _Timed(events.put, models, max_pending=len(answers) + 1)
        intents = tuple((name, tuple(phrases)) for name, phrases in INTENTS.items())
        try:
            for i, path in enumerate(answers):
                recogniser.recognise(ev.Recognise("gsm1", str(i), path, language, intents))
            for _ in answers:
                events.get(timeout=600)
            intent_kb = recogniser.peak_kb
            recogniser.transcribe("vm", message, language)
            events.get(timeout=600)
        finally:
            recogniser.close()
    heard, [transcript] = recogniser.figures[:-1], recogniser.figures[-1:]
    return {
        "engine": heard[0].get("engine", "?"),
        "intent_cpu_per_s": sum(f["cpu_seconds"] for f in heard) / sum(f["audio_seconds"] for f in heard),
        "intent_peak_mb": intent_kb / 1024,
        "transcribe_cpu_per_s": transcript["cpu_seconds"] / transcript["audio_seconds"],
        "transcribe_peak_mb": recogniser.peak_kb / 1024,
        "answers": len(heard),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 answers instead of 44")
    parser.add_argument("--models", type=Path, default=Path("/nonexistent"), help="uploaded Vosk models by language")
    args = parser.parse_args()
    runs = []
    if find_spec("pocketsphinx") is not None:
        runs.append(("en", args.models))
    if find_spec("vosk") is not None:
        runs += [(lang.name, args.models) for lang in sorted(args.models.glob("*")) if (lang / "am").is_dir()]
    print("| engine | language | job | CPU s per s of speech | peak memory of the worker, MB |")
    print("|---|---|---|---|---|")
    for language, models in runs:
        f = measure(language, models, 8 if args.quick else len(SAID))
        print(f"| {f['engine']} | {language} | intent ({f['answers']} answers) | {f['intent_cpu_per_s']:.2f} | "
              f"{f['intent_peak_mb']:.0f} |")
        print(f"| {f['engine']} | {language} | voicemail transcript | {f['transcribe_cpu_per_s']:.2f} | "
              f"{f['transcribe_peak_mb']:.0f} |")


if __name__ == "__main__":
    main()
