"""Prompts still to be made are made in one child interpreter, which makes them all and exits.

Made in the daemon, by threads, the loudness pass's millions of short-lived floats and the tools' output left
the daemon's heap ~0.6 MB larger for the months it then runs (docs/proof.md, "eighth session: modules"). The
daemon itself only looks prompts up in the cache (a restart with its cache full starts no child), and hands
the rest to `python -m appliance.audio.prompt_process`: the sources as one JSON document on its stdin, one
JSON line back per source as it is made (its file, or what went wrong). SIGTERM (the box stopping) lets the
prompts in hand finish and reports the others as not made.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .prompts import PromptDiskFull, PromptError, PromptLibrary, pcm_file

# What a prompt is made from: ("text", text, language, voice or "") or ("upload", the recording's path).
Source = tuple[str, ...]
Outcome = Path | Exception

STOPPING = "not made: the box is stopping"


def spoken(text: str, lang: str, voice: str | None = None) -> Source:
    return ("text", text, lang, voice or "")


def uploaded(path: Path) -> Source:
    return ("upload", str(path))


def cached(library: PromptLibrary, source: Source) -> Path | None:
    """The source's cache file where it is made and whole, else None (PromptError or OSError: it cannot be)."""
    if source[0] == "text":
        found = library.cached_text(source[1], source[2], source[3] or None)
    else:
        upload = Path(source[1])
        found = library.cached_upload(upload.read_bytes(), upload.name)
    return None if found is None else pcm_file(found)


def made(library: PromptLibrary, source: Source) -> Path:
    if source[0] == "text":
        return pcm_file(library.from_text(source[1], source[2], source[3] or None))
    upload = Path(source[1])
    return pcm_file(library.from_upload(upload.read_bytes(), upload.name))


class PromptProcess:
    """The daemon's side: looks each source up in the cache and makes the rest in a child."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # stop() and a child being started: a child started after stop() is not
        self._child: int | None = None  # the child's pid while it runs
        self.stopping = threading.Event()

    def stop(self) -> None:
        """Prompts not yet begun are not made; the child finishes those in hand and exits."""
        with self._lock:
            self.stopping.set()
            if self._child is not None:
                os.kill(self._child, signal.SIGTERM)

    def make(self, library: PromptLibrary, sources: Sequence[Source]) -> dict[Source, Outcome]:
        outcomes: dict[Source, Outcome] = {}
        missing: list[Source] = []
        for source in sources:
            try:
                found = cached(library, source)
            except (PromptError, OSError) as exc:
                outcomes[source] = exc
                continue
            if found is None:
                missing.append(source)
            else:
                outcomes[source] = found
        if missing:
            outcomes.update(self._in_child(library, missing))
        return outcomes

    def _in_child(self, library: PromptLibrary, sources: list[Source]) -> dict[Source, Outcome]:
        job = json.dumps({"cache": str(library.cache_dir), "rate": library.rate, "sources": sources}).encode()
        # -P: the daemon's working directory is not on the child's path; the unit's PYTHON* settings are kept
        argv = [sys.executable, "-P", "-m", __name__]
        job_read, job_write = os.pipe()
        told_read, told_write = os.pipe()
        with self._lock:
            try:
                if self.stopping.is_set():
                    os.close(job_write)
                    os.close(told_read)
                    return {source: PromptError(STOPPING) for source in sources}
                # posix_spawn, not subprocess.Popen: the daemon then holds no subprocess module (with locale ~0.2 MB)
                # for the months after a first start. Its other descriptors are close-on-exec (Python's, SQLite's).
                actions = [(os.POSIX_SPAWN_DUP2, job_read, 0), (os.POSIX_SPAWN_DUP2, told_write, 1)]
                try:
                    self._child = pid = os.posix_spawn(sys.executable, argv, os.environ, file_actions=actions)
                except OSError:
                    os.close(job_write)
                    os.close(told_read)
                    raise
            finally:
                os.close(job_read)
                os.close(told_write)
        outcomes: dict[Source, Outcome] = {}
        try:
            with open(job_write, "wb") as job_pipe:  # read whole by the child before it makes anything
                job_pipe.write(job)
            with open(told_read, "rb") as told:
                for line in told:
                    said = json.loads(line)
                    outcomes[sources[said["index"]]] = _outcome(said)
        finally:
            with self._lock:
                self._child = None  # not signalled once reaped: its pid may be another process's by then
            code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        for source in sources:  # a child that died (the OOM killer) left these unmade
            outcomes.setdefault(source, PromptError(f"not made: the prompt maker ended ({code})"))
        return outcomes


def _outcome(told: dict[str, Any]) -> Outcome:
    if "path" in told:
        return Path(told["path"])
    if told["kind"] == "disk full":
        return PromptDiskFull(told["message"])
    if told["kind"] == "os":
        return OSError(told["errno"], told["message"])
    return PromptError(told["message"])


def _told(index: int, outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, Path):
        return {"index": index, "path": str(outcome)}
    if isinstance(outcome, PromptDiskFull):
        return {"index": index, "kind": "disk full", "message": str(outcome)}
    if isinstance(outcome, OSError):
        return {"index": index, "kind": "os", "errno": outcome.errno, "message": outcome.strerror or str(outcome)}
    return {"index": index, "kind": "prompt", "message": str(outcome)}


def main() -> None:
    """The child: make every source, several at once (espeak-ng and sox are processes: one per core)."""
    logging.basicConfig(level=logging.INFO, format="prompt maker: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    job = json.loads(sys.stdin.buffer.read())
    library = PromptLibrary(job["cache"], job["rate"])
    todo: queue.SimpleQueue[tuple[int, Source]] = queue.SimpleQueue()
    for index, source in enumerate(job["sources"]):
        todo.put((index, tuple(source)))
    said = threading.Lock()

    def work() -> None:
        while True:
            try:
                index, source = todo.get_nowait()
            except queue.Empty:
                return
            outcome: Outcome
            try:
                outcome = PromptError(STOPPING) if stop.is_set() else made(library, source)
            except (PromptError, OSError) as exc:
                outcome = exc
            with said:
                sys.stdout.write(json.dumps(_told(index, outcome)) + "\n")
                sys.stdout.flush()

    workers = [threading.Thread(target=work) for _ in range(min(os.cpu_count() or 1, len(job["sources"])))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
