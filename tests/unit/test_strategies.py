"""Ring strategies and skill tiers: who rings first, and who may ring at all, as the caller waits."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from appliance.core.strategies import STRATEGIES, Candidate, SkillTier, StrategyMemory, choose, eligible

ANNA = Candidate("Anna", "h1", {"legal": 5, "general": 2}, calls_taken=4, last_call_end=1000.0)
BORIS = Candidate("Boris", "h2", {"psychology": 4, "general": 3}, calls_taken=1, last_call_end=3000.0)
VERA = Candidate("Vera", "h3", {"legal": 2}, calls_taken=2, last_call_end=None)
GLEB = Candidate("Gleb", "h4", {}, calls_taken=0, last_call_end=2000.0)
TEAM = [ANNA, BORIS, VERA, GLEB]
TIERS = [SkillTier(0, 3), SkillTier(30, 1), SkillTier(60, None)]


def names(waves):
    return [[c.operator for c in wave] for wave in waves]


def pick(strategy, candidates=TEAM, memory=None, seed=1, queue="general"):
    return choose(
        strategy, candidates, memory=memory or StrategyMemory(), rng=random.Random(seed), queue=queue
    )


def test_ringall_rings_everyone_in_one_wave():
    assert names(pick("ringall")) == [["Anna", "Boris", "Vera", "Gleb"]]
    assert names(pick("ring-all")) == [["Anna", "Boris", "Vera", "Gleb"]]


def test_linear_rings_one_at_a_time_in_config_order():
    assert names(pick("linear")) == [["Anna"], ["Boris"], ["Vera"], ["Gleb"]]


def test_leastrecent_starts_with_who_waited_longest_since_a_call():
    assert names(pick("leastrecent")) == [["Vera"], ["Anna"], ["Gleb"], ["Boris"]]


def test_fewestcalls_starts_with_who_took_fewest_ties_in_config_order():
    tied = [ANNA, Candidate("Dana", "h5", {}, calls_taken=1), BORIS]
    assert names(pick("fewestcalls", tied)) == [["Dana"], ["Boris"], ["Anna"]]


def test_rrmemory_starts_after_the_operator_last_rung_for_that_queue():
    memory = StrategyMemory()
    assert names(pick("rrmemory", memory=memory))[0] == ["Anna"]
    memory.rung("general", "Boris")
    assert names(pick("rrmemory", memory=memory)) == [["Vera"], ["Gleb"], ["Anna"], ["Boris"]]
    memory.rung("general", "Gleb")
    assert names(pick("rrmemory", memory=memory))[0] == ["Anna"]
    assert names(pick("rrmemory", memory=memory, queue="legal"))[0] == ["Anna"]  # another queue's memory


def test_random_orders_everyone_once_and_varies():
    firsts = Counter(names(pick("random", seed=seed))[0][0] for seed in range(200))
    assert set(firsts) == {"Anna", "Boris", "Vera", "Gleb"}
    assert sorted(sum(names(pick("random", seed=7)), [])) == ["Anna", "Boris", "Gleb", "Vera"]


def test_wrandom_puts_heavier_operators_first_more_often():
    heavy = Candidate("Heavy", "h1", {}, weight=3)
    light = Candidate("Light", "h2", {}, weight=1)
    rng = random.Random(5)
    firsts = Counter(
        choose("wrandom", [light, heavy], memory=StrategyMemory(), rng=rng)[0][0].operator
        for _ in range(4000)
    )
    assert 0.70 <= firsts["Heavy"] / 4000 <= 0.80  # 3 / (3 + 1)
    with pytest.raises(ValueError, match="'Light'.*weight 0"):
        choose("wrandom", [heavy, Candidate("Light", "h2", {}, weight=0)], memory=StrategyMemory(), rng=rng)


def test_every_strategy_rings_each_candidate_exactly_once():
    for strategy in STRATEGIES:
        rung = sum(names(pick(strategy)), [])
        assert sorted(rung) == ["Anna", "Boris", "Gleb", "Vera"], strategy
        assert pick(strategy, []) == []


def test_unknown_strategy_is_named():
    with pytest.raises(ValueError, match="'fastest'"):
        pick("fastest")


def test_skill_tiers_widen_as_the_caller_waits():
    assert [c.operator for c in eligible(TEAM, "legal", 0, TIERS)] == ["Anna"]
    assert [c.operator for c in eligible(TEAM, "legal", 29.9, TIERS)] == ["Anna"]
    assert [c.operator for c in eligible(TEAM, "legal", 30, TIERS)] == ["Anna", "Vera"]
    assert [c.operator for c in eligible(TEAM, "legal", 75, TIERS)] == ["Anna", "Boris", "Vera", "Gleb"]


def test_without_tiers_anyone_with_the_skill_and_without_a_skill_everyone():
    assert [c.operator for c in eligible(TEAM, "psychology", 0)] == ["Boris"]
    assert eligible(TEAM, None, 0, TIERS) == TEAM


def test_tiers_must_start_at_zero():
    with pytest.raises(ValueError, match="after = 0"):
        eligible(TEAM, "legal", 0, [SkillTier(10, 1)])
