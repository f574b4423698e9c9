"""One software DTMF receiver for every line: capture threads hand it their periods, it decides in batches.

Per chunk and per line, the receiver's cost is almost all numpy call overhead (some sixty small operations),
and each wakeup of a thread costs as much again, so four lines fed one by one would take most of a Pi Zero
core.  Here the capture threads read 100 ms at a time and queue their chunks; a batch is decided once every
line that fed the last batch has queued at least BATCH_SECONDS of audio (lines whose periods arrive at
different moments still share a batch), or when the slowest has kept it waiting MAX_WAIT_SECONDS, by one set
of numpy calls for all lines together (DtmfBank.detect), skipping lines whose audio is too quiet to hold a
key.  The engine has no thread of its own: the capture thread whose chunk completes a batch decides it before
it reads on (it is awake anyway; a thread woken for it cost ~45 µs more per batch, and its caches were cold).
A line that stops feeding (its flow stopped listening, its call ended) says so with `pause`, which decides
what it still has queued, so no audio waits for a line that will not come back.  A key is reported a period
or two later (well under a quarter of a second), never lost.

numpy and the transform tables are loaded when the engine is made, which the daemon does before READY=1 for
any line with software DTMF: importing numpy on the capture thread at the first answered call takes ~0.5 s
on a Pi, longer than the capture buffer, so the first keys of the first call would be lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .dtmf import DtmfBank, LineState

BATCH_SECONDS = 0.045  # audio per line in a batch, at least: 3 periods of 20 ms, or one of 100 ms
MAX_WAIT_SECONDS = 0.15  # from a batch's first chunk: a line that stopped feeding holds the others no longer

_engines: dict[int, DtmfEngine] = {}
_engines_lock = threading.Lock()


class Listener:
    """One line's place in the engine: `feed` queues a chunk; `on_digit` is called on whichever capture thread
    decides the batch, with the engine's lock held (it must not wait for a thread that feeds)."""

    def __init__(self, engine: DtmfEngine, state: LineState, on_digit: Callable[[str], None]) -> None:
        self._engine = engine
        self.state = state
        self.on_digit = on_digit

    def feed(self, pcm: bytes) -> None:
        self._engine.submit(self, pcm)

    def pause(self) -> None:
        """This line feeds no more for now: what it queued is decided at once, and no batch waits for it."""
        self._engine.pause(self)


class DtmfEngine:
    def __init__(self, rate: int = 8000, *, batch_seconds: float = BATCH_SECONDS,
                 max_wait_seconds: float = MAX_WAIT_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._bank = DtmfBank(rate)  # imports numpy and builds the tables now, not at the first call
        self.rate = rate
        self.batches = 0  # tests and the bench read it
        self._batch_bytes = round(batch_seconds * rate) * 2
        self._max_wait = max_wait_seconds
        self._clock = clock
        # Held while a batch is decided too: batches run one at a time and in the order their chunks came, so
        # a line's state only ever sees its own audio in order, whichever thread decides.
        self._lock = threading.Lock()
        self._queue: list[tuple[Listener, bytes]] = []
        self._queued: dict[Listener, int] = {}  # bytes each line has in the batch being gathered
        self._expected: set[Listener] = set()  # the lines of the last batch: the next one waits for them
        self._first_at = 0.0

    def attach(self, on_digit: Callable[[str], None]) -> Listener:
        return Listener(self, self._bank.state(), on_digit)

    def submit(self, listener: Listener, pcm: bytes) -> None:
        with self._lock:
            now = self._clock()
            if not self._queue:
                self._first_at = now
            self._queue.append((listener, pcm))
            self._queued[listener] = self._queued.get(listener, 0) + len(pcm)
            if self._whole() or now - self._first_at >= self._max_wait:
                self._decide()

    def pause(self, listener: Listener) -> None:
        with self._lock:
            self._expected.discard(listener)
            if listener in self._queued:
                self._decide()

    def _whole(self) -> bool:
        need = self._batch_bytes
        return all(self._queued.get(lis, 0) >= need for lis in self._expected or self._queued)

    def _decide(self) -> None:
        queued, self._queue = self._queue, []
        self._expected, self._queued = set(self._queued), {}
        # a line's chunks joined in arrival order: one entry per line in the batch
        joined: dict[Listener, list[bytes]] = {}
        for listener, pcm in queued:
            joined.setdefault(listener, []).append(pcm)
        listeners = list(joined)
        found = self._bank.detect([(lis.state, b"".join(joined[lis])) for lis in listeners])
        self.batches += 1
        for listener, digits in zip(listeners, found, strict=True):
            for digit in digits:
                listener.on_digit(digit)


def shared_engine(rate: int) -> DtmfEngine:
    """The process's engine for this sample rate (every line captures at the same rate)."""
    with _engines_lock:
        if rate not in _engines:
            _engines[rate] = DtmfEngine(rate)
        return _engines[rate]
