"""Work the event loop must not wait for (making prompts: espeak-ng and sox, seconds on a Pi), done off it,
and the replies to control commands, some of which wait for such work.

One worker thread takes the jobs in the order they were given, so two configs applied one after the other
are applied in that order. A job's outcome goes back to the loop as a `Done` item: everything it changes
is changed there, between events, like everything else.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from appliance.core.lean import lean

from .control_server import ControlRequest

log = logging.getLogger(__name__)

Outcome = Callable[[], Any]  # returns the job's value, or raises the exception the job raised


@lean(frozen=True)
class Done:
    """Posted to the loop when a job has run: the loop calls then(outcome)."""

    then: Callable[[Outcome], None]
    outcome: Outcome


@lean(frozen=True)
class Pending:
    """A control command's answer that needs work off the loop first: work() runs on the worker, then
    then(outcome) on the loop gives the reply (or raises, as a command does)."""

    work: Callable[[], Any]
    then: Callable[[Outcome], dict[str, Any]]


class OffLoop:
    def __init__(self, post: Callable[[object], None]) -> None:
        self._post = post
        self._jobs: queue.Queue[tuple[Callable[[], Any], Callable[[Outcome], None]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def run(self, work: Callable[[], Any], then: Callable[[Outcome], None]) -> None:
        """work() on the worker thread; then(outcome) later on the loop."""
        if self._thread is None:
            # A daemon thread: a box told to stop does not wait for the prompts it was still making.
            self._thread = threading.Thread(target=self._serve, name="off-loop", daemon=True)
            self._thread.start()
        self._jobs.put((work, then))

    def close(self, timeout: float = 5.0) -> None:
        """Let the job in hand end (a prompt being made: under a second) so nothing is written after the box
        stopped; the jobs still queued are dropped. Bounded: a stuck job is left to the process's exit."""
        if self._thread is None:
            return
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        self._jobs.put(None)
        self._thread.join(timeout)
        self._thread = None

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            work, then = job
            try:
                value = work()
            except Exception as exc:  # handed to the loop, which decides what it means
                self._post(Done(then, _raiser(exc)))
            else:
                self._post(Done(then, lambda value=value: value))


def _raiser(exc: Exception) -> Outcome:
    def outcome() -> Any:
        raise exc

    return outcome


def answer(request: ControlRequest, handler: Callable[[dict[str, Any]], Any] | None, background: OffLoop) -> None:
    """Reply to a control request (on the loop): now, or, for a command whose work runs off the loop, once
    that work has run. The loop goes on with other events meanwhile."""
    if handler is None:
        request.reply.put({"ok": False, "error": f"unknown command {request.command!r}", "not_found": True})
        return
    reply = _command(request, handler)
    if isinstance(reply, Pending):
        background.run(reply.work, lambda outcome: answer(request, lambda _: reply.then(outcome), background))
    else:
        request.reply.put(reply)


def _command(request: ControlRequest, handler: Callable[[dict[str, Any]], Any]) -> dict[str, Any] | Pending:
    try:
        result = handler(request.args)
        return result if isinstance(result, Pending) else {"ok": True, **result}
    except (KeyError, IndexError):  # Python's own failed lookup is a bug here, never the caller's missing thing
        log.exception("control command %s failed", request.command)
        return {"ok": False, "error": f"{request.command} failed: internal error", "internal": True}
    except LookupError as exc:  # raised on purpose: "no call 12", "no handset 'h9'"
        return {"ok": False, "error": str(exc.args[0]) if exc.args else "not found", "not_found": True}
    except ValueError as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:
        log.exception("control command %s failed", request.command)
        return {"ok": False, "error": f"{request.command} failed: {exc}", "internal": True}
