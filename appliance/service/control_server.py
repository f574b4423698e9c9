"""The control socket's server, in the daemon: requests from the web app and the CLI, answered by the loop.

One JSON object per line each way over a Unix stream socket (the client is control.py). Requests are
handed to the daemon's event loop, so a command never races a call.
"""

from __future__ import annotations

import json
import os
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import Any

from appliance.core.lean import lean

from .control import MAX_REQUEST

MAX_WAIT = 600.0  # the longest a client may ask the daemon to take over its answer


@lean
class ControlRequest:
    command: str
    args: dict[str, Any]
    reply: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=1))


class _Reply:
    """Where the daemon's loop puts one request's answer: the selector thread is woken to send it."""

    def __init__(self, server: ControlServer, conn: socket.socket) -> None:
        self._server, self._conn = server, conn

    def put(self, reply: dict[str, Any]) -> None:
        self._server._answered(self._conn, reply)


class ControlServer:
    """Every connection is served by one selector thread: a thread per connection costs ~8 MB of stack
    address space and a thread start each time the web page asks for the status."""

    def __init__(self, path: str | Path, post: Callable[[object], None], timeout: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self._post = post
        self._timeout = timeout
        self._clock = clock
        if self.path.exists():
            self.path.unlink()  # left over by a daemon that was killed
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(self.path))
        os.chmod(self.path, 0o660)  # the web app runs as the same user or group, nobody else
        self._sock.listen(64)  # room for a burst of web workers while the thread accepts
        self._sock.setblocking(False)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._lock = threading.Lock()
        self._answers: list[tuple[socket.socket, dict[str, Any]]] = []
        self._closing = False
        # per open connection: what it sent so far, and when it must have sent its line or had its answer
        self._reading: dict[socket.socket, bytes] = {}
        self._due: dict[socket.socket, float] = {}
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._sock, selectors.EVENT_READ)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._serve, name="control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        with self._lock:
            self._closing = True
        self._wake_w.send(b"x")
        self._thread.join(timeout=2)
        self._sock.close()
        self.path.unlink(missing_ok=True)

    def _answered(self, conn: socket.socket, reply: dict[str, Any]) -> None:
        """Called on the daemon's loop: hand the answer to the selector thread."""
        with self._lock:
            self._answers.append((conn, reply))
        try:
            self._wake_w.send(b"x")
        except OSError:  # closed meanwhile: nobody is waiting for the answer
            pass

    def _serve(self) -> None:
        try:
            while True:
                due = min(self._due.values(), default=None)
                wait = None if due is None else max(0.0, due - self._clock())
                for key, _ in self._selector.select(wait):
                    if key.fileobj is self._sock:
                        self._accept()
                    elif key.fileobj is self._wake_r:
                        self._wake_r.recv(4096)
                    else:
                        self._receive(key.fileobj)  # type: ignore[arg-type]
                with self._lock:
                    answers, self._answers = self._answers, []
                    closing = self._closing
                # answers given before the stop go out first: "Restart now" stops the daemon right after its reply
                for conn, reply in answers:
                    if conn in self._due and conn not in self._reading:
                        self._send(conn, reply)
                if closing:
                    return
                now = self._clock()
                for conn in [c for c, at in self._due.items() if at <= now]:
                    if conn in self._reading:
                        self._drop(conn)  # never sent a whole line
                    else:
                        self._send(conn, {"ok": False, "error": "the daemon did not answer in time"})
        finally:
            for conn in list(self._due):
                self._drop(conn)
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _accept(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError:  # the client gave up already
            return
        conn.setblocking(False)
        self._reading[conn] = b""
        self._due[conn] = self._clock() + self._timeout
        self._selector.register(conn, selectors.EVENT_READ)

    def _receive(self, conn: socket.socket) -> None:
        try:
            chunk = conn.recv(4096)
        except OSError:
            self._drop(conn)
            return
        data = self._reading[conn] + chunk
        if len(data) > MAX_REQUEST:
            self._send(conn, {"ok": False, "error": "bad request: request too long"})
            return
        if chunk and not data.endswith(b"\n"):
            self._reading[conn] = data
            return
        self._selector.unregister(conn)
        del self._reading[conn]
        self._due[conn] = self._clock() + self._timeout  # the loop's time to answer
        try:
            self._handle(conn, data)
        except ValueError as exc:
            self._send(conn, {"ok": False, "error": f"bad request: {exc}"})

    def _handle(self, conn: socket.socket, raw: bytes) -> None:
        request = json.loads(raw)
        if not isinstance(request, dict) or not isinstance(request.get("command"), str):
            self._send(conn, {"ok": False, "error": "a request is {\"command\": ..., \"args\": {...}}"})
            return
        args = request.get("args") or {}
        if not isinstance(args, dict):
            self._send(conn, {"ok": False, "error": "args must be an object"})
            return
        wait = request.get("wait")
        if isinstance(wait, int | float) and not isinstance(wait, bool) and wait > self._timeout:
            # the client waits longer (the web page, for a config whose prompts are made first): so does the server,
            # or it would say "did not answer in time" of a change that is then applied all the same
            self._due[conn] = self._clock() + min(wait, MAX_WAIT)
        self._post(ControlRequest(request["command"], args, reply=_Reply(self, conn)))  # type: ignore[arg-type]

    def _send(self, conn: socket.socket, reply: dict[str, Any]) -> None:
        try:
            # an answer is a few kilobytes and the client is waiting for it: a short blocking send
            conn.settimeout(self._timeout)
            conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            pass
        self._drop(conn)

    def _drop(self, conn: socket.socket) -> None:
        if conn in self._reading:
            self._selector.unregister(conn)
            del self._reading[conn]
        self._due.pop(conn, None)
        conn.close()
