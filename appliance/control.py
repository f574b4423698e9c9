"""The local control socket between the web app and the daemon.

One JSON object per line each way over a Unix stream socket. Requests are
handed to the daemon's event loop, so a command never races a call.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024


class ControlError(Exception):
    """The daemon could not be reached, or refused the command (message says why)."""


@dataclass
class ControlRequest:
    command: str
    args: dict[str, Any]
    reply: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=1))


class ControlServer:
    def __init__(self, path: str | Path, post: Callable[[object], None], timeout: float = 5.0) -> None:
        self.path = Path(path)
        self._post = post
        self._timeout = timeout
        if self.path.exists():
            self.path.unlink()  # left over by a daemon that was killed
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(self.path))
        os.chmod(self.path, 0o660)  # the web app runs as the same user or group, nobody else
        self._sock.listen(8)
        self._thread = threading.Thread(target=self._serve, name="control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(timeout=2)
        self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(self._timeout)
            try:
                reply = self._handle(_read_line(conn))
            except (OSError, ValueError) as exc:
                reply = {"ok": False, "error": f"bad request: {exc}"}
            try:
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass

    def _handle(self, raw: bytes) -> dict[str, Any]:
        request = json.loads(raw)
        if not isinstance(request, dict) or not isinstance(request.get("command"), str):
            return {"ok": False, "error": "a request is {\"command\": ..., \"args\": {...}}"}
        args = request.get("args") or {}
        if not isinstance(args, dict):
            return {"ok": False, "error": "args must be an object"}
        item = ControlRequest(request["command"], args)
        self._post(item)
        try:
            return item.reply.get(timeout=self._timeout)
        except queue.Empty:
            return {"ok": False, "error": "the daemon did not answer in time"}


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST:
            raise ValueError("request too long")
    return data


def call(path: str | Path, command: str, timeout: float = 6.0, **args: Any) -> dict[str, Any]:
    """Send one command to the daemon and return its reply; raise ControlError when it is unreachable."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps({"command": command, "args": args}).encode() + b"\n")
            raw = _read_line(sock)
    except (OSError, ValueError) as exc:
        raise ControlError(f"the hotline daemon is not reachable at {path}: {exc}") from exc
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ControlError(f"the daemon sent an unreadable reply: {exc}") from exc
