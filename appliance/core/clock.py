"""Time as the core sees it: an injected callable, so tests can move it by hand."""

from __future__ import annotations

from collections.abc import Callable

Clock = Callable[[], float]


class FakeClock:
    """A clock that only moves when told to; call it like time.time."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
