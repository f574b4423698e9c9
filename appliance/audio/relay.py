"""One line's audio on its way into another: a caller and a remote operator dialled on a free line (core/remote.py)
talk through the box, which carries each line's captured audio to the other line's player.

The source line's capture thread puts each period in (`put`, as a recorder tap); the other line's player takes one
of its own periods every 20 ms (`take`). Capture periods are longer (100 ms) than the player's, and both threads
keep their own time, so the relay is a small jitter buffer: it plays silence until a capture period is there, and
keeps at most MAX_SECONDS, dropping the oldest audio (the delay never grows) when the player falls behind.
"""

from __future__ import annotations

import threading

RATE = 8000
MAX_SECONDS = 0.5


class Relay:
    def __init__(self, *, prime_bytes: int = 1600, max_bytes: int = int(MAX_SECONDS * RATE) * 2) -> None:
        self._prime = prime_bytes  # one capture period: played from once it is all there
        self._max = max_bytes
        self._buffer = bytearray()
        self._primed = False
        self._closed = False
        self._lock = threading.Lock()
        self.carried = 0  # bytes handed on to the player (tests and status read it)

    def put(self, period: bytes) -> bool:
        """The source line captured `period` (its capture thread); False once the relay is closed: the tap goes."""
        with self._lock:
            if self._closed:
                return False
            self._buffer += period
            if len(self._buffer) > self._max:
                del self._buffer[:len(self._buffer) - self._max]
            return True

    def take(self, size: int) -> bytes:
        """`size` bytes for the other line's player (its thread): the oldest audio, or silence while there is none."""
        with self._lock:
            if not self._primed and len(self._buffer) >= min(self._prime, self._max):
                self._primed = True
            if not self._primed:
                return b"\x00" * size
            chunk = bytes(self._buffer[:size])
            del self._buffer[:size]
            if not self._buffer:
                self._primed = False  # ran dry: wait for a whole period again rather than stutter
            self.carried += len(chunk)
        return chunk.ljust(size, b"\x00")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._buffer.clear()

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed
