"""One software DTMF receiver for every line: capture threads hand it their periods, it decides in batches.

Per chunk and per line, the receiver's cost is almost all numpy call overhead (some sixty small operations),
and each wakeup of a thread costs as much again, so four lines fed one by one would take most of a Pi Zero
core.  Here the capture threads read 100 ms at a time and only queue their chunks; one thread wakes once
every line that fed the last batch has queued at least BATCH_SECONDS of audio (lines whose periods arrive at
different moments still share a batch), or when the slowest has kept it waiting MAX_WAIT_SECONDS (its call
ended), and runs one set of numpy calls for all lines together (DtmfBank.detect), skipping lines whose audio
is too quiet to hold a key.  A key is reported a period or two later (well under a quarter of a second),
never lost.

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
    """One line's place in the engine: `feed` queues a chunk, `on_digit` is called on the engine thread."""

    def __init__(self, engine: DtmfEngine, state: LineState, on_digit: Callable[[str], None]) -> None:
        self._engine = engine
        self.state = state
        self.on_digit = on_digit

    def feed(self, pcm: bytes) -> None:
        self._engine.submit(self, pcm)


class DtmfEngine:
    def __init__(self, rate: int = 8000, *, batch_seconds: float = BATCH_SECONDS,
                 max_wait_seconds: float = MAX_WAIT_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._bank = DtmfBank(rate)  # imports numpy and builds the tables now, not at the first call
        self.rate = rate
        self.batches = 0  # tests and the bench read it
        self._batch_bytes = round(batch_seconds * rate) * 2
        self._max_wait = max_wait_seconds
        self._clock = clock
        self._wake = threading.Condition()
        self._queue: list[tuple[Listener, bytes]] = []
        self._queued: dict[Listener, int] = {}  # bytes each line has in the batch being gathered
        self._expected: set[Listener] = set()  # the lines of the last batch: the next one waits for them
        self._first_at = 0.0
        self._thread = threading.Thread(target=self._run, name=f"dtmf-{rate}", daemon=True)
        self._thread.start()

    def attach(self, on_digit: Callable[[str], None]) -> Listener:
        return Listener(self, self._bank.state(), on_digit)

    def submit(self, listener: Listener, pcm: bytes) -> None:
        with self._wake:
            now, first = self._clock(), not self._queue
            if first:
                self._first_at = now
            self._queue.append((listener, pcm))
            self._queued[listener] = self._queued.get(listener, 0) + len(pcm)
            # The engine thread is woken once per batch, when it is whole (or overdue: a line stopped feeding),
            # not at each batch's first chunk (a thread's wakeup costs as much CPU as a line's detection,
            # docs/proof.md), except the first after a pause: nothing else would start that batch's clock.
            if self._whole() or now - self._first_at >= self._max_wait or (first and not self._expected):
                self._wake.notify()

    def _whole(self) -> bool:
        need = self._batch_bytes
        return all(self._queued.get(lis, 0) >= need for lis in self._expected or self._queued)

    def _due(self) -> bool:
        return bool(self._queue) and (self._whole() or self._clock() - self._first_at >= self._max_wait)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due():
                    if self._queue:  # the batch's own deadline: its lines' chunks never wait longer
                        self._wake.wait(self._first_at + self._max_wait - self._clock())
                    elif self._expected:
                        # Lines fed the last batch, so the next is coming; if none comes within the wait, they
                        # stopped (their calls left the menu) and the engine sleeps until a line feeds again.
                        if not self._wake.wait(self._max_wait) and not self._queue:
                            self._expected = set()
                    else:
                        self._wake.wait()
                queued, self._queue = self._queue, []
                self._expected, self._queued = set(self._queued), {}
            self._detect(queued)

    def _detect(self, queued: list[tuple[Listener, bytes]]) -> None:
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
