"""A supervisor listening to a live call in the browser: the caller's audio, as the line captures it, streamed
to the web app over a Unix socket of its own, one per listener.

The web app asks (`call.listen`); the daemon makes `<data>/listen/<token>.sock`, accepts the web app's one
connection on a short-lived thread, and from then on the line's capture thread sends each period to it
(non-blocking: a slow browser loses audio, never the line's keys or recordings). The call ending, or the
listener going away, closes it. Who listened to which call is in the web app's audit log.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

from ..core.box_events import BoxEvent
from ..digest import token_hex
from ..ports import RecorderPort

log = logging.getLogger(__name__)

ACCEPT_TIMEOUT = 10.0  # the web app connects at once; a socket nobody opens is removed after this


class Listener:
    def __init__(self, call_id: str, path: Path) -> None:
        self.call_id = call_id
        self.path = path
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        path.chmod(0o600)  # the web app runs as the same user; nobody else hears the call
        self._server.listen(1)
        self._server.settimeout(ACCEPT_TIMEOUT)
        self._peer: socket.socket | None = None
        self.closed = threading.Event()

    def accept(self, recorder: RecorderPort) -> None:
        """On its own thread: wait for the web app, then let the capture thread feed it."""
        try:
            peer, _ = self._server.accept()
        except OSError:
            self.close()
            return
        peer.setblocking(False)
        self._peer = peer
        recorder.tap(self._send)

    def _send(self, period: bytes) -> bool:
        """The capture thread's sink: False once the listener is gone or the call has ended."""
        if self.closed.is_set() or self._peer is None:
            return False
        try:
            self._peer.send(period)
        except BlockingIOError:
            return True  # the browser is behind: this period is dropped, the next may go
        except OSError:
            self.close()
            return False
        return True

    def close(self) -> None:
        self.closed.set()
        for sock in (self._peer, self._server):
            if sock is not None:
                sock.close()
        self.path.unlink(missing_ok=True)


class Listening:
    """The daemon's live listeners, by call."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "listen"
        self._by_call: dict[str, list[Listener]] = {}

    def start(self, call_id: str, recorder: RecorderPort) -> Path:
        self.directory.mkdir(mode=0o700, exist_ok=True)
        listener = Listener(call_id, self.directory / f"{token_hex(8)}.sock")
        self._by_call.setdefault(call_id, []).append(listener)
        threading.Thread(target=listener.accept, args=(recorder,), name="listen-accept", daemon=True).start()
        return listener.path

    def heard(self, event: BoxEvent) -> None:
        """The daemon's event hook (on the loop): a call's end ends its listeners' streams."""
        if event.kind == "call_ended":
            self.ended(str(event.data["call_id"]))

    def ended(self, call_id: str) -> None:
        """The call is over: every listener's stream ends."""
        for listener in self._by_call.pop(call_id, []):
            listener.close()
