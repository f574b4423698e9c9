"""The web app's side of the daemon: ask it over the control socket, read its calls.db, and say who is looking."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any
from urllib.parse import urlencode

from flask import current_app, flash, g, request

from appliance.records.privacy import appear
from appliance.records.store.erasure import ERASED as ERASED_FORM
from appliance.records.store.inbox import Inbox
from appliance.records.store.queries import CallLog
from appliance.service import control


class DaemonError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


STATUS_SECONDS = 1.0  # a status this fresh is shown again rather than asked for: 20 dashboards, one question
READS = frozenset({"status", "config.get"})  # commands that change nothing: the kept status stays good

_status_lock = threading.Lock()
_status: dict[str, tuple[float, dict[str, Any]]] = {}  # control path -> (monotonic time asked, reply)
_forgotten = [0]  # how many times a command made the kept status stale: what is made from it is stale too


def status_generation() -> int:
    """Changes whenever a command may have changed the daemon's state (so a page made from its status is old)."""
    return _forgotten[0]


def ask(command: str, timeout: float = 6.0, *, max_age: float = STATUS_SECONDS, **args: Any) -> dict[str, Any]:
    """The daemon's reply to `command`; DaemonError with an HTTP status when it is down or refuses.

    "status" is kept for STATUS_SECONDS (or asked afresh when the kept one is older than `max_age`); any other
    command may change it, so it forgets the kept one."""
    path = str(current_app.config["CONTROL_PATH"])
    if command == "status" and not args:
        with _status_lock:
            kept = _status.get(path)
        if kept is not None and time.monotonic() - kept[0] < min(max_age, STATUS_SECONDS):
            return copy.deepcopy(kept[1])
    elif command not in READS:
        with _status_lock:
            _status.pop(path, None)
            _forgotten[0] += 1
    asked = time.monotonic()
    reply = _ask(command, timeout, **args)
    if command == "status" and not args:
        with _status_lock:
            _status[path] = (asked, copy.deepcopy(reply))
    return reply


def _ask(command: str, timeout: float, **args: Any) -> dict[str, Any]:
    try:
        reply = control.call(current_app.config["CONTROL_PATH"], command, timeout=timeout, **args)
    except control.ControlError as exc:
        raise DaemonError(str(exc), 503) from None
    if not reply.pop("ok", False):
        # Not found: 404; the daemon's own failure (its bug, hardware gone): 500; else the request was refused: 400.
        status = 404 if reply.get("not_found") else 500 if reply.get("internal") else 400
        raise DaemonError(reply.get("error", "refused"), status)
    return reply


def live_status(max_age: float = STATUS_SECONDS) -> dict[str, Any]:
    """The daemon's status with each live caller as the viewer's role may see it (DaemonError as ask)."""
    state = ask("status", max_age=max_age)
    role = viewer_role()
    for call in state.get("calls", []):
        call["caller"] = appear(call.get("caller"), "view", role=role)
    return state


def act(command: str, done: str, **args: Any) -> dict[str, Any] | None:
    """Ask the daemon on behalf of a form: flash `done` or the daemon's refusal; the reply or None."""
    try:
        reply = ask(command, **args)
    except DaemonError as exc:
        flash(str(exc), "error")
        return None
    flash(done, "info")
    return reply


def viewer_role() -> str:
    """The role caller numbers are shown for (privacy.shown); the box's own API token counts as admin."""
    return g.user["role"] if g.get("user") else "admin"


def viewer() -> str:
    """Who to name as author or actor in the daemon's records and the audit log."""
    return g.user["username"] if g.get("user") else "api"


def call_log() -> CallLog:
    return CallLog(current_app.config["DATABASE"])


def audited_query(log: CallLog) -> str | None:
    """The request's query string as the audit log keeps it (a year): a caller searched for by number is kept
    as their caller key, never as the number typed, whatever the privacy mode; erasing the caller then removes
    the key too (docs/privacy.md)."""
    pairs = []
    for name, value in request.args.items(multi=True):
        if name == "caller" and any(c.isdigit() for c in value):
            try:
                value = log.caller_key(value) or ERASED_FORM
            except ValueError:  # no privacy key yet: nothing can have been found by it
                value = ERASED_FORM
        pairs.append((name, value))
    return urlencode(pairs)[:500] or None


def inbox() -> Inbox:
    """Voicemail, SMS and callbacks, read through the store's read model (web/ runs no SQL on calls.db)."""
    return Inbox(current_app.config["DATABASE"])
