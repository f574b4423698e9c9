"""The speech worker: a process of its own that loads the engines and answers one job at a time.

`python -m appliance.speech.worker --models DIR` reads one JSON job per line on stdin and writes one
JSON answer per line on stdout, in order. Jobs: {"id", "op": "intent", "path", "language", "intents"}
(the audio is deleted once heard: a spoken answer is never kept), {"id", "op": "transcribe", "path",
"language"} (a voicemail: kept), {"id", "op": "forget", "path"} (audio nobody waits for: deleted).
An engine is loaded the first time its language is asked for and kept. A failing job answers with
"error" and the worker carries on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .engines import RATE, Engine, load

SOX_TIMEOUT = 60.0


def peak_kb() -> int:
    """This worker's own peak memory (VmHWM). Not getrusage's ru_maxrss: Linux carries that over the fork and exec
    that started the worker, so it reported the parent's size (a 186 MB test process, where the worker held ~45)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def pcm_of(path: str) -> bytes:
    """The recording as 16 kHz S16LE mono (sox decodes the FLAC and resamples)."""
    done = subprocess.run(["sox", "-D", path, "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "16", "-c", "1",
                           "-"], capture_output=True, check=True, timeout=SOX_TIMEOUT)
    return done.stdout


class Worker:
    def __init__(self, models: Path) -> None:
        self.models = models
        self.engines: dict[str, Engine] = {}

    def engine(self, language: str) -> Engine:
        engine = self.engines.get(language) or load(language, self.models)  # a model uploaded since counts
        if engine is None:
            raise LookupError(f"no speech engine for {language!r}: upload a Vosk model for it")
        self.engines[language] = engine
        return engine

    def answer(self, job: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = {"id": job.get("id")}
        path = str(job.get("path", ""))
        started = time.process_time()
        try:
            if job["op"] == "forget":
                return reply
            engine = self.engine(str(job["language"]))
            pcm = pcm_of(path)
            reply["engine"], reply["audio_seconds"] = engine.name, len(pcm) / 2 / RATE
            if job["op"] == "intent":
                intents = [(str(name), [str(p) for p in phrases]) for name, phrases in job["intents"]]
                reply["intent"], reply["confidence"] = engine.intent(pcm, intents)
            else:
                reply["text"] = engine.transcribe(pcm)
        except subprocess.CalledProcessError as exc:
            reply["error"] = f"cannot read the audio: {exc.stderr.decode(errors='replace').strip()[:200]}"
        except Exception as exc:  # noqa: BLE001 - one bad job must not end the worker
            reply["error"] = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            if job.get("op") in ("intent", "forget") and path:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        reply["cpu_seconds"] = round(time.process_time() - started, 3)
        reply["peak_kb"] = peak_kb()
        return reply


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="appliance.speech.worker")
    parser.add_argument("--models", type=Path, required=True, help="uploaded models, one directory per language")
    parser.add_argument("--preload", default="", help="languages whose engine loads at once, comma-separated")
    args = parser.parse_args(argv)
    worker = Worker(args.models)
    for language in filter(None, args.preload.split(",")):
        try:
            worker.engine(language)
        except LookupError as exc:
            print(json.dumps({"id": None, "error": str(exc)}), flush=True)
    print(json.dumps({"id": None, "ready": True, "peak_kb": peak_kb()}),
          flush=True)
    for line in sys.stdin:
        try:
            job = json.loads(line)
        except json.JSONDecodeError:
            continue
        print(json.dumps(worker.answer(job)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
