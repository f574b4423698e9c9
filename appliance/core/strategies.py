"""Who rings first: the strategies of Asterisk's app_queue, and skill tiers that widen as the caller waits.

Plain functions over plain values; the router decides when to ring each wave and for how long.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import field

from appliance.core.lean import lean

STRATEGIES = ("ringall", "linear", "rrmemory", "leastrecent", "fewestcalls", "random", "wrandom")


@lean(frozen=True)
class Candidate:
    """An operator who could be rung now, at the handset they are logged in at."""

    operator: str
    handset: str
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> level, higher is more able
    calls_taken: int = 0
    last_call_end: float | None = None
    weight: int = 1  # wrandom: an operator with weight 2 is rung first twice as often as one with 1


@lean(frozen=True)
class SkillTier:
    """From `after` seconds of waiting, operators with the skill at `min_level` or more may be rung.

    `min_level=None` means anyone, with the skill or without it.
    """

    after: float
    min_level: int | None


DEFAULT_TIERS = (SkillTier(0.0, 1),)


@lean
class StrategyMemory:
    """What rrmemory remembers between calls: the operator last rung, per queue (skill)."""

    last_rung: dict[str, str] = field(default_factory=dict)

    def rung(self, queue: str, operator: str) -> None:
        """Tell the memory an operator was rung, so the next call of this queue starts after them."""
        self.last_rung[queue] = operator


def strategy_name(name: str) -> str:
    """`name` in canonical form ("ring-all" -> "ringall"), or ValueError naming it."""
    canonical = name.lower().replace("-", "").replace("_", "") if isinstance(name, str) else name
    if canonical not in STRATEGIES:
        raise ValueError(f"unknown ring strategy {name!r}: use one of {', '.join(STRATEGIES)}")
    return canonical


def check_tiers(tiers: Sequence[SkillTier]) -> tuple[SkillTier, ...]:
    """`tiers` in order of waiting time, or ValueError naming the bad tier."""
    ordered = tuple(sorted(tiers, key=lambda tier: tier.after))
    for tier in ordered:
        if isinstance(tier.after, bool) or not isinstance(tier.after, int | float) or tier.after < 0:
            raise ValueError(f"skill tier {tier!r}: after must be seconds, 0 or more")
        if tier.min_level is not None and (
            isinstance(tier.min_level, bool) or not isinstance(tier.min_level, int)
        ):
            raise ValueError(f"skill tier {tier!r}: min_level must be a whole number or none")
    if ordered and ordered[0].after != 0:
        raise ValueError(f"skill tiers must start at after = 0 (the first one is {ordered[0]!r})")
    return ordered


def eligible(
    candidates: Sequence[Candidate],
    skill: str | None,
    waited: float,
    tiers: Sequence[SkillTier] = DEFAULT_TIERS,
) -> list[Candidate]:
    """The candidates the caller may be offered after waiting `waited` seconds, in the order given.

    The widest tier reached so far applies: e.g. at first only level 3 and up, after 30 s any
    level, after 60 s anyone. With no skill asked for, everyone is eligible.
    """
    if skill is None:
        return list(candidates)
    ordered = check_tiers(tiers) or DEFAULT_TIERS
    tier = [t for t in ordered if t.after <= waited][-1]
    if tier.min_level is None:
        return list(candidates)
    return [c for c in candidates if skill in c.skills and c.skills[skill] >= tier.min_level]


def choose(
    strategy: str,
    candidates: Sequence[Candidate],
    *,
    memory: StrategyMemory,
    rng: random.Random,
    queue: str = "",
) -> list[list[Candidate]]:
    """The waves to ring, first first: ringall rings everyone at once, the others one at a time.

    `candidates` come in config order; `queue` keys rrmemory's memory (use the skill asked for).
    Nothing is changed here: call `memory.rung()` when a candidate is actually rung.
    """
    name = strategy_name(strategy)
    people = list(candidates)
    if not people:
        return []
    if name == "ringall":
        return [people]
    if name == "linear":
        order = people
    elif name == "rrmemory":
        order = _after_last(people, memory.last_rung.get(queue))
    elif name == "leastrecent":
        # Never having taken a call counts as the least recent of all.
        order = sorted(people, key=lambda c: -1.0 if c.last_call_end is None else c.last_call_end)
    elif name == "fewestcalls":
        order = sorted(people, key=lambda c: c.calls_taken)
    elif name == "random":
        order = rng.sample(people, len(people))
    else:
        order = _weighted_order(people, rng)
    return [[c] for c in order]


def _after_last(people: list[Candidate], last: str | None) -> list[Candidate]:
    names = [c.operator for c in people]
    if last not in names:
        return people
    start = names.index(last) + 1
    return people[start:] + people[:start]


def _weighted_order(people: list[Candidate], rng: random.Random) -> list[Candidate]:
    for c in people:
        if isinstance(c.weight, bool) or not isinstance(c.weight, int | float) or c.weight <= 0:
            raise ValueError(f"operator {c.operator!r}: weight {c.weight!r} must be more than 0")
    # Weighted sampling without replacement (Efraimidis-Spirakis): the larger u ** (1 / w), the earlier.
    return sorted(people, key=lambda c: rng.random() ** (1.0 / c.weight), reverse=True)
