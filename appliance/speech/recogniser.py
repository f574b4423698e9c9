"""The daemon's side of speech: the worker process started, fed jobs and heard from, never waited on.

Jobs go to the worker over a pipe from the event loop (a short line each, and at most `max_pending` of
them outstanding, so the pipe never fills and the loop never blocks); a reader thread turns each answer
into an event posted to the loop: SpeechHeard for a spoken answer, Transcribed for a voicemail. A job
beyond the bound is answered at once as "busy" (the caller falls back to keys). A worker that dies
answers its outstanding jobs as failed and is started again by the next job.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..core import events as ev

log = logging.getLogger(__name__)

MAX_PENDING = 4  # two lines each with a caller answering and a voicemail waiting


@dataclass(frozen=True)
class _Job:
    op: str
    line: str
    call_id: str


class Recogniser:
    def __init__(self, post: Callable[[object], None], models: Path, *, preload: tuple[str, ...] = (),
                 max_pending: int = MAX_PENDING) -> None:
        self._post = post
        self.models = models
        self.preload = preload
        self.max_pending = max_pending
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[int, _Job] = {}
        self._proc: subprocess.Popen[str] | None = None
        self.peak_kb = 0  # the worker's peak memory as it last reported it
        self.heard = 0  # answers received: status and tests read it

    # --- jobs, from the event loop ------------------------------------------------------

    def recognise(self, action: ev.Recognise) -> None:
        if not action.intents:  # audio nobody waits for any more: only deleted
            self._send({"op": "forget", "path": action.path}, _Job("forget", action.line, action.call_id),
                       busy=lambda: unlink_quietly(action.path))
            return
        job = {"op": "intent", "path": action.path, "language": action.language,
               "intents": [[name, list(phrases)] for name, phrases in action.intents]}

        def busy() -> None:
            unlink_quietly(action.path)
            self._post(ev.SpeechHeard(action.line, action.call_id, None, 0.0, "busy"))

        self._send(job, _Job("intent", action.line, action.call_id), busy=busy)

    def transcribe(self, call_id: str, path: str, language: str) -> None:
        self._send({"op": "transcribe", "path": path, "language": language}, _Job("transcribe", "", call_id),
                   busy=lambda: self._post(ev.Transcribed(call_id, None, "busy")))

    def _send(self, job: dict[str, Any], meta: _Job, *, busy: Callable[[], None]) -> None:
        with self._lock:
            if len(self._pending) >= self.max_pending:
                log.warning("speech: %d jobs outstanding, %s for call %s not taken", len(self._pending), meta.op,
                            meta.call_id)
                full = True
            else:
                full = False
                job_id = next(self._ids)
                self._pending[job_id] = meta
        if full:
            busy()
            return
        try:
            stdin = self._running().stdin
            assert stdin is not None
            stdin.write(json.dumps({"id": job_id, **job}) + "\n")
            stdin.flush()
        except (OSError, ValueError) as exc:  # the worker died between two jobs
            log.error("speech worker cannot take a job: %s", exc)
            with self._lock:
                lost = self._pending.pop(job_id, None)
            if lost is not None:  # not answered already by the reader, which saw the worker end
                self._fail({job_id: lost}, f"failed: {exc}")

    # --- the process --------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker now (a speak node is configured: its engine loads before the first caller)."""
        self._running()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _running(self) -> subprocess.Popen[str]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        command = [sys.executable, "-m", "appliance.speech.worker", "--models", str(self.models)]
        if self.preload:
            command += ["--preload", ",".join(self.preload)]
        # The worker must not be scheduled ahead of the loop that answers calls.
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                preexec_fn=lambda: os.nice(5))
        self._proc = proc
        threading.Thread(target=self._read, args=(proc, proc.stdout), name="speech-reader", daemon=True).start()
        log.info("speech worker started (pid %d)", proc.pid)
        return proc

    def _read(self, proc: subprocess.Popen[str], out: IO[str] | None) -> None:
        assert out is not None
        for line in out:
            try:
                reply = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.peak_kb = max(self.peak_kb, int(reply.get("peak_kb", 0)))
            if reply.get("id") is None:
                if reply.get("error"):
                    log.error("speech worker: %s", reply["error"])
                continue
            with self._lock:
                meta = self._pending.pop(reply["id"], None)
            if meta is not None:
                self.heard += 1
                self._answer(meta, reply)
        proc.wait()
        with self._lock:
            lost, self._pending = dict(self._pending), {}
        if lost:
            log.error("speech worker ended (status %s) with %d job(s) unanswered", proc.returncode, len(lost))
        self._fail(lost, "failed: the speech worker stopped")

    def _answer(self, meta: _Job, reply: dict[str, Any]) -> None:
        error = reply.get("error")
        if error:
            log.warning("speech: %s for call %s: %s", meta.op, meta.call_id, error)
        if meta.op == "intent":
            self._post(ev.SpeechHeard(meta.line, meta.call_id, reply.get("intent"),
                                      float(reply.get("confidence") or 0.0),
                                      f"failed: {error}" if error else None if reply.get("intent") else "unsure"))
        elif meta.op == "transcribe":
            self._post(ev.Transcribed(meta.call_id, None if error else str(reply.get("text", "")),
                                      f"failed: {error}" if error else None))

    def _fail(self, jobs: dict[int, _Job], reason: str) -> None:
        for meta in jobs.values():
            self._answer(meta, {"error": reason.removeprefix("failed: ")})

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()  # the worker ends at the end of its input
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
