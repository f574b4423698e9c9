"""The web app's side of the control socket: ask the daemon, get a reply or a DaemonError."""

from __future__ import annotations

from typing import Any

from flask import current_app

from appliance import control


class DaemonError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def ask(command: str, timeout: float = 6.0, **args: Any) -> dict[str, Any]:
    """The daemon's reply to `command`; DaemonError with an HTTP status when it is down or refuses."""
    try:
        reply = control.call(current_app.config["CONTROL_PATH"], command, timeout=timeout, **args)
    except control.ControlError as exc:
        raise DaemonError(str(exc), 503) from None
    if not reply.pop("ok", False):
        raise DaemonError(reply.get("error", "refused"), 404 if reply.get("not_found") else 400)
    return reply
