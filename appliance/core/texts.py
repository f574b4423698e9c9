"""Who answers a new text conversation: the queue's own choice (its strategy, skill tiers and memory), as for a
call, among the operators free now; the one with the fewest open conversations where the strategy rings a wave
at once (ringall). Pure: the daemon gives the queue, the handsets' state and the open conversations' count."""

from __future__ import annotations

from collections.abc import Mapping

from .queue import Queue
from .strategies import choose, eligible

TEXT_QUEUE = "texts"  # the strategies' memory key for texts (rrmemory goes round texts apart from calls)


def text_operator(queue: Queue, now: float, open_counts: Mapping[str, int], skill: str | None = None) -> str | None:
    """The operator to own a new conversation, or None when nobody is free (it waits, seen by everyone)."""
    busy = {h.id: not h.free for h in queue.handsets.values()}
    candidates = eligible(queue.operators.candidates(busy, now), skill, 0.0, queue.settings.tiers)
    waves = choose(queue.settings.strategy, candidates, memory=queue.memory, rng=queue.rng, queue=TEXT_QUEUE)
    if not waves:
        return None
    chosen = min(waves[0], key=lambda c: open_counts.get(c.operator, 0))  # min keeps the wave's order on a tie
    queue.memory.rung(TEXT_QUEUE, chosen.operator)
    return chosen.operator
