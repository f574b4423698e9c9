"""The tick every capture line reads on, and one thread reading for the lines due at it.

Independent cards end their periods at their own moments, and a thread woken alone pays the wakeup and cold
caches for itself (four lines a quarter period apart cost ~40 % more CPU than four in step). A line reads its
next period at the first tick after the card has it, so the data waits in the card's buffer (less than a
period) instead of in the DTMF engine's batch, which waited for the last line anyway: no key comes later than
before. The ticks follow the last card seen ending a period (a read that waited for it), so one line alone
reads the moment its period ends.

Only the first line queued for a tick wakes at it (the head). It first reads the other lines' periods for them
where that cannot block (`Turn.serve`: the line only listens for keys, and its card already holds the period),
so their threads sleep on, and wakes the lines it could not read for; then it reads its own. A wakeup of a
capture thread cost ~100 µs of CPU here with its cold caches, most of the capture path's share. The lines read
for follow the head to its next tick; if its own read may wait for its card (it may stall), it lets them go
first, so a stalled or vanished card silences only its own line.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

SLACK = 8  # a read that waits more than 1/SLACK of a period waited for its card (not for the GIL)
LATE = 4  # a line queued behind a head wakes by itself 1/LATE of a period after the tick if no one came


def nudge(lock: threading.Lock) -> None:
    """Wake the thread waiting on `lock` (held while it has nothing to wait for), or let its next wait return."""
    if lock.locked():
        try:
            lock.release()
        except RuntimeError:  # another nudge came first: one is enough
            pass


class Turn:
    """A line's place at the ticks. Its thread sleeps until `wake_at` (inf: until nudged), reading it again at
    every wakeup of `lock`; `serve` reads and hands over the line's period on the head's thread, or says False if
    that could block or the line does more than listen; `reading` is held while the head reads for the line."""

    __slots__ = ("lock", "serve", "reading", "due", "wake_at", "waiting", "flock")

    def __init__(self, lock: threading.Lock, serve: Callable[[], bool]) -> None:
        self.lock = lock
        self.serve = serve
        self.reading = threading.Lock()
        self.due = math.nan  # the tick it waits for
        self.wake_at = math.inf
        self.waiting = False  # its thread is in its wait (it has not woken since it queued): it may be read for
        self.flock: list[Turn] = []  # the lines this one read for at its last tick: they follow it to the next


class SharedTick:
    """The tick of every line capturing with one period: `next_at` and `read` are plain reads and writes of one
    float (atomic under the GIL); the turns queued for the ticks are kept under a lock."""

    def __init__(self, period: float) -> None:
        self.period = period
        self._origin = 0.0  # a moment some card ended a period
        self._lock = threading.Lock()
        self._queued: list[Turn] = []  # the lines waiting for their tick

    def next_at(self, due: float) -> float:
        """The first tick at which a period due at `due` is there (or nearly: SLACK)."""
        origin = self._origin
        return origin + math.ceil((due - self.period / SLACK - origin) / self.period) * self.period

    def read(self, asked: float, ended: float) -> bool:
        """A read asked at `asked` returned at `ended`: True if it waited for its card, whose period ended then
        (the ticks follow it from now on)."""
        if ended - asked <= self.period / SLACK:
            return False
        self._origin = ended
        return True

    def queue(self, turn: Turn, due: float) -> None:
        """`turn`'s line reads next at the tick `due`: it wakes then if no line does yet (the head), else LATE
        after it unless the head reads for it or wakes it first. The lines it read for last follow it there."""
        with self._lock:
            turn.due = due
            turn.wake_at = due + self.period / LATE if any(o.wake_at == due for o in self._queued) else due
            turn.waiting = True
            self._queued.append(turn)
            for other in turn.flock:
                if other.waiting:  # else its own work woke it since
                    other.due = due
                    self._queued.append(other)
            turn.flock = []

    def start(self, turn: Turn, now: float) -> None:
        """`turn`'s thread woke: at its tick, it reads for the other lines queued for it (or wakes them), then
        reads its own period; before its tick (its work changed), the next line for it wakes at the tick."""
        with self._lock:
            turn.waiting = False
            if turn in self._queued:  # else the head took it out, and reads for it or has woken it
                self._queued.remove(turn)
            tick = turn.due
            others = [o for o in self._queued if o.due == tick]
            if now < tick:
                if others and turn.wake_at == tick and not any(o.wake_at == tick for o in others):
                    others[0].wake_at = tick
                    nudge(others[0].lock)
                others = []
            for other in others:
                self._queued.remove(other)
                other.reading.acquire()  # its thread waits (it is queued): no one else reads its card now
        turn.reading.acquire()  # the head may be reading for this line: its period comes before the next
        turn.reading.release()
        try:
            while others:
                other, served = others.pop(0), False
                try:
                    served = other.serve()
                finally:
                    self._settle(turn, other, served)
        finally:  # the receiver failed on this thread: the lines not read for yet read by themselves
            for other in others:
                self._settle(turn, other, False)

    def _settle(self, turn: Turn, other: Turn, served: bool) -> None:
        """`other` was read for (it sleeps on and follows `turn`), or it was not (it wakes to read by itself)."""
        other.reading.release()
        with self._lock:
            if not other.waiting:  # its own work woke it meanwhile: it reads on by itself
                return
            if served:
                other.wake_at = math.inf
                turn.flock.append(other)
            else:
                other.wake_at = -math.inf
                nudge(other.lock)

    def release(self, turn: Turn) -> None:
        """`turn`'s line may wait for its card now, or goes idle: the lines it read for wake at their next tick
        by themselves."""
        with self._lock:
            for other in turn.flock:
                if other.waiting:
                    other.wake_at = other.due + self.period
                    nudge(other.lock)
            turn.flock = []


_ticks: dict[tuple[int, int], SharedTick] = {}


def shared_tick(period_frames: int, rate: int) -> SharedTick:
    """The process's tick for lines with this period (every line of a box captures alike)."""
    return _ticks.setdefault((period_frames, rate), SharedTick(period_frames / rate))
