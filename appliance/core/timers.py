"""The core's timers: one deadline per (kind, call), on the monotonic clock.

One owner for every wait a call can be in, so ending a call cancels all of
its timers in one place (`cancel_call`) instead of each part remembering
which kinds it may have started.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

# input: a menu or collect node waits for a key; ring: a wave of handsets rings;
# maxwait: a queued caller's patience; announce: the next "you are number N in line".
TimerKind = Literal["input", "ring", "maxwait", "announce"]
QUEUE_TIMERS: tuple[TimerKind, ...] = ("maxwait", "announce")  # a waiting caller's, kept while it is moved


class Timers:
    def __init__(self) -> None:
        self._deadlines: dict[tuple[TimerKind, str], float] = {}

    def start(self, kind: TimerKind, call_id: str, at: float) -> None:
        """Arm (or re-arm) the call's timer of this kind to fire at monotonic time `at`."""
        self._deadlines[(kind, call_id)] = at

    def deadline(self, kind: TimerKind, call_id: str) -> float | None:
        return self._deadlines.get((kind, call_id))

    def cancel(self, kind: TimerKind, call_id: str) -> None:
        self._deadlines.pop((kind, call_id), None)

    def cancel_call(self, call_id: str) -> None:
        """The call is over: none of its timers may fire."""
        for key in [key for key in self._deadlines if key[1] == call_id]:
            del self._deadlines[key]

    def due(self, now: float) -> Iterator[tuple[TimerKind, str]]:
        """The timers due by `now`, earliest first, each removed as it is handed out.

        A timer cancelled while an earlier one in the same batch is handled is skipped, so the caller
        may handle each one before asking for the next.
        """
        for _, key in sorted((deadline, key) for key, deadline in self._deadlines.items() if deadline <= now):
            if self._deadlines.pop(key, None) is not None:
                yield key

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)
