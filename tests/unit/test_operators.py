"""Operators as people: states, wrap-up, retry pause, auto-pause, and a roster of shifts, on a fake clock."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from appliance.core.clock import FakeClock
from appliance.core.operators import Operator, Operators, Roster, State

MSK = ZoneInfo("Europe/Moscow")


def at(text: str) -> float:
    """Epoch seconds of a Moscow wall-clock time; 2024-06-03 is a Monday."""
    return datetime.fromisoformat(text).replace(tzinfo=MSK).timestamp()


def team(roster: Roster | None = None) -> Operators:
    return Operators(
        [
            Operator("Anna", {"legal": 5}, wrap_up=10, retry_pause=5, max_missed=2),
            Operator("Boris", {"general": 3}, wrap_up=0),
        ],
        roster,
    )


def test_an_operator_goes_through_a_call_and_wrap_up():
    clock = FakeClock(at("2024-06-03 10:00"))
    ops = team()
    assert not ops.can_ring("Anna", False, clock())  # logged out
    ops.login("Anna", "h1", clock())
    assert ops.can_ring("Anna", False, clock())
    assert not ops.can_ring("Anna", True, clock())  # receiver lifted
    ops.ringing("Anna", clock())
    assert not ops.can_ring("Anna", False, clock())
    ops.answered("Anna", clock())
    assert ops.get("Anna").state == State.ON_CALL
    clock.advance(120)
    assert ops.call_ended("Anna", clock()).state == State.WRAP_UP
    clock.advance(9)
    assert not ops.can_ring("Anna", False, clock())
    assert ops.tick(clock()) == []
    clock.advance(1)
    assert [c.state for c in ops.tick(clock())] == [State.AVAILABLE]
    anna = ops.get("Anna")
    assert (anna.calls_taken, anna.last_call_end) == (1, clock() - 10)
    assert [c.operator for c in ops.candidates({}, clock())] == ["Anna"]


def test_unanswered_rings_pause_retry_then_auto_pause():
    clock = FakeClock(at("2024-06-03 10:00"))
    ops = team()
    ops.login("Anna", "h1", clock())
    ops.ringing("Anna", clock())
    assert ops.ring_stopped("Anna", clock(), unanswered=True).state == State.AVAILABLE
    assert not ops.can_ring("Anna", False, clock() + 4.9)
    clock.advance(5)
    assert ops.can_ring("Anna", False, clock())
    ops.ringing("Anna", clock())
    change = ops.ring_stopped("Anna", clock(), unanswered=True)
    assert change.state == State.PAUSED and "2 calls" in change.why
    clock.advance(3600)
    assert not ops.can_ring("Anna", False, clock())
    ops.unpause("Anna")
    assert ops.can_ring("Anna", False, clock())


def test_ringing_that_someone_else_answered_is_no_miss():
    ops = team()
    ops.login("Anna", "h1", 0)
    for _ in range(3):
        ops.ringing("Anna", 0)
        ops.ring_stopped("Anna", 0, unanswered=False)
    assert ops.get("Anna").state == State.AVAILABLE and ops.can_ring("Anna", False, 0)


def test_paused_operator_is_not_rung_and_a_pause_during_a_call_waits_for_its_end():
    ops = team()
    ops.login("Boris", "h2", 0)
    ops.pause("Boris", "lunch")
    assert not ops.can_ring("Boris", False, 0) and ops.get("Boris").pause_reason == "lunch"
    ops.unpause("Boris")
    ops.ringing("Boris", 0)
    ops.answered("Boris", 0)
    ops.pause("Boris", "break")
    assert ops.get("Boris").state == State.ON_CALL
    assert ops.call_ended("Boris", 60).state == State.PAUSED
    with pytest.raises(ValueError, match="reason"):
        ops.pause("Boris", "")


def test_bad_requests_are_refused_and_change_nothing():
    ops = team()
    with pytest.raises(ValueError, match="'Zoya'"):
        ops.login("Zoya", "h1", 0)
    ops.login("Anna", "h1", 0)
    with pytest.raises(ValueError, match="'h1'.*'Anna'"):
        ops.login("Boris", "h1", 0)
    assert ops.get("Boris").state == State.LOGGED_OUT
    with pytest.raises(ValueError, match="cannot be rung"):
        ops.ringing("Boris", 0)
    ops.ringing("Anna", 0)
    with pytest.raises(ValueError, match="after the call"):
        ops.logout("Anna", 0)
    assert ops.get("Anna").state == State.RINGING


ROSTER = [
    {"operator": "Anna", "handset": "h1", "days": "mon-fri", "hours": "09:00-17:00"},
    {"operator": "Boris", "handset": "h2", "days": ["sat", "sun"], "hours": "22:00-06:00"},
]


def test_roster_logs_operators_in_and_out_with_the_shift():
    ops = team(Roster.from_config(ROSTER, "Europe/Moscow"))
    assert ops.tick(at("2024-06-03 08:59")) == []
    changes = ops.tick(at("2024-06-03 09:00"))
    assert [(c.operator, c.state, c.handset) for c in changes] == [("Anna", State.AVAILABLE, "h1")]
    assert ops.tick(at("2024-06-03 12:00")) == []
    assert [c.state for c in ops.tick(at("2024-06-03 17:00"))] == [State.LOGGED_OUT]
    # Boris works the weekend night across midnight, Sunday 05:00 included.
    ops.tick(at("2024-06-08 22:30"))
    assert ops.get("Boris").handset == "h2"
    ops.tick(at("2024-06-09 05:00"))
    assert ops.get("Boris").state == State.AVAILABLE
    ops.tick(at("2024-06-09 06:00"))
    assert ops.get("Boris").state == State.LOGGED_OUT


def test_a_shift_end_never_cuts_a_live_call():
    ops = team(Roster.from_config(ROSTER, "Europe/Moscow"))
    ops.tick(at("2024-06-03 16:55"))
    ops.ringing("Anna", at("2024-06-03 16:58"))
    ops.answered("Anna", at("2024-06-03 16:58"))
    assert ops.tick(at("2024-06-03 17:01")) == []
    ops.call_ended("Anna", at("2024-06-03 17:10"))
    assert ops.tick(at("2024-06-03 17:10"))[-1].state == State.LOGGED_OUT


def test_manual_login_outranks_the_roster_until_the_shift_ends():
    ops = team(Roster.from_config(ROSTER, "Europe/Moscow"))
    ops.tick(at("2024-06-03 09:00"))
    ops.logout("Anna", at("2024-06-03 11:00"))  # went home ill
    assert ops.tick(at("2024-06-03 11:01")) == []
    assert ops.get("Anna").state == State.LOGGED_OUT
    ops.tick(at("2024-06-03 17:00"))
    assert ops.tick(at("2024-06-04 09:00"))[0].state == State.AVAILABLE  # next day's shift as usual
    # A manual login after hours stays until the next shift boundary, then the roster rules again.
    ops.tick(at("2024-06-04 17:00"))
    ops.login("Anna", "h3", at("2024-06-04 19:00"))
    assert ops.tick(at("2024-06-04 23:00")) == [] and ops.get("Anna").handset == "h3"
    assert ops.tick(at("2024-06-05 09:00"))[0].handset == "h1"


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"hours": "9-17"}, "'9-17'"),
        ({"hours": "25:00-26:00"}, "25:00"),
        ({"days": "mon-funday"}, "funday"),
        ({"days": []}, "days"),
    ],
)
def test_bad_roster_entries_are_named(entry, named):
    with pytest.raises(ValueError, match=named):
        Roster.from_config([{**ROSTER[0], **entry}], "Europe/Moscow")


def test_roster_needs_known_timezone_and_operators():
    with pytest.raises(ValueError, match="'Mars/Olympus'"):
        Roster.from_config(ROSTER, "Mars/Olympus")
    with pytest.raises(ValueError, match="'Zoya'"):
        team(Roster.from_config([{**ROSTER[0], "operator": "Zoya"}], "UTC"))
