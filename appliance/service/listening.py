"""A supervisor listening to a live call in the browser: the caller's audio, as the line captures it, streamed
to the web app over a Unix socket of its own, one per listener. On a line whose voice goes through the box (a USB
voice port, the modem's USB sound card) the box has both directions, so the stream is the two mixed: the caller
and what the line is given (prompts, or a remote operator's voice carried from another line).

The web app asks (`call.listen`); the daemon makes `<data>/listen/<token>.sock`, accepts the web app's one
connection on a short-lived thread, and from then on the line's capture thread sends each period to it
(non-blocking: a slow browser loses audio, never the line's keys or recordings). The call ending, or the
listener going away, closes it. Who listened to which call is in the web app's audit log.
"""

from __future__ import annotations

import logging
import operator
import socket
import threading
from array import array
from collections.abc import Callable
from pathlib import Path

from ..audio.player import AlsaPlayer
from ..core.box_events import BoxEvent
from ..digest import token_hex
from ..ports import RecorderPort

log = logging.getLogger(__name__)

MIX_KEEP = 16000  # bytes (1 s) of what was played kept for the capture to meet; more is a stalled capture
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

    def accept(self, recorder: RecorderPort, player: AlsaPlayer | None = None) -> None:
        """On its own thread: wait for the web app, then let the capture thread feed it (with `player`, what the box
        plays to the line is mixed in: `Mix`)."""
        try:
            peer, _ = self._server.accept()
        except OSError:
            self.close()
            return
        peer.setblocking(False)
        self._peer = peer
        if player is None:
            recorder.tap(self._send)
            return
        mix = Mix(self._send, self.closed)
        player.tap(mix.played)
        recorder.tap(mix.captured)

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


class Mix:
    """Both directions of a line whose voice goes through the box (a USB voice port, the modem's USB sound card):
    what the box plays to the line (the prompts, or a remote operator's voice carried from another line) added to
    what it captures from it (the caller), period by period as the capture comes."""

    def __init__(self, send: Callable[[bytes], bool], closed: threading.Event) -> None:
        self._send = send
        self._closed = closed
        self._played = bytearray()
        self._lock = threading.Lock()

    def played(self, period: bytes) -> bool:
        """The player's sink (its thread)."""
        if self._closed.is_set():
            return False
        with self._lock:
            self._played += period
            del self._played[:max(0, len(self._played) - MIX_KEEP)]  # a capture that stalled: keep the latest
        return True

    def captured(self, period: bytes) -> bool:
        """The capture thread's sink: the period with as much of what was played added, sample by sample."""
        with self._lock:
            played = bytes(self._played[:len(period)])
            del self._played[:len(period)]
        return self._send(add(period, played))


def add(a: bytes, b: bytes) -> bytes:
    """Two 16-bit signed PCM signals summed (clipped to the sample range); `b` shorter is padded with silence.

    On the capture thread, once per period: nothing played (most of a call) costs a scan of `b`, and a sum that
    stays in range is added in C (`map`); only a period where some sample clips is summed sample by sample."""
    b = b[:len(a)]
    if not b.strip(b"\x00"):
        return a
    x, y = array("h", a), array("h", b.ljust(len(a), b"\x00"))
    try:
        return array("h", map(operator.add, x, y)).tobytes()
    except OverflowError:  # a sample beyond the 16-bit range
        return array("h", (max(-32768, min(32767, p + q)) for p, q in zip(x, y, strict=True))).tobytes()


class Listening:
    """The daemon's live listeners, by call."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / "listen"
        self._by_call: dict[str, list[Listener]] = {}

    def start(self, call_id: str, recorder: RecorderPort, player: AlsaPlayer | None = None) -> Path:
        """A listener's socket; with `player`, the stream is both directions mixed (`Mix`)."""
        self.directory.mkdir(mode=0o700, exist_ok=True)
        listener = Listener(call_id, self.directory / f"{token_hex(8)}.sock")
        self._by_call.setdefault(call_id, []).append(listener)
        threading.Thread(target=listener.accept, args=(recorder, player), name="listen-accept", daemon=True).start()
        return listener.path

    def heard(self, event: BoxEvent) -> None:
        """The daemon's event hook (on the loop): a call's end ends its listeners' streams."""
        if event.kind == "call_ended":
            self.ended(str(event.data["call_id"]))

    def ended(self, call_id: str) -> None:
        """The call is over: every listener's stream ends."""
        for listener in self._by_call.pop(call_id, []):
            listener.close()
