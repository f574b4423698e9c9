"""The control socket's client: what the web app, the CLI and the tools use to ask the running daemon.

One JSON object per line each way over a Unix stream socket (the daemon's side is control_server.py).
This module is all of the service the web app may import (the "web" contract in pyproject.toml).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

MAX_REQUEST = 64 * 1024  # the longest request the daemon reads, and the longest reply a client reads
ANSWER_MARGIN = 1.0  # the daemon gives up this long before the client does, so the client hears why


class ControlError(Exception):
    """The daemon could not be reached, or refused the command (message says why)."""


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
            # "wait": how long the daemon may take (a config's prompts are made first), its own few seconds if less
            request = {"command": command, "args": args, "wait": max(0.0, timeout - ANSWER_MARGIN)}
            sock.sendall(json.dumps(request).encode() + b"\n")
            raw = _read_line(sock)
    except (OSError, ValueError) as exc:
        raise ControlError(f"the hotline daemon is not reachable at {path}: {exc}") from exc
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ControlError(f"the daemon sent an unreadable reply: {exc}") from exc
