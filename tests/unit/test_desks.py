"""Desk features in the core with a fake clock (issue 20): calling back as the helpline from one operator's
desk, handing a caller to another desk, a supervisor barging in."""

from __future__ import annotations

import pytest

from appliance.core import events as ev
from tests.unit.test_switchboard import LINE, board


def test_call_back_now_rings_only_the_asking_operators_desk_then_dials_the_caller_from_the_line():
    sb, clock = board()
    actions = sb.request_callback("+79165550123", operator="Boris")
    assert ev.RingHandset("h2") in actions and ev.RingHandset("h1") not in actions
    actions = sb.handle(ev.HookOff("h2"))
    assert actions[-2:] == [ev.Dial(LINE, "+79165550123"),
                            ev.SaveCallback(actions[-1].request_id, None, "+79165550123", "dialling", 1)]
    assert ev.ConnectAudio("h2", LINE) in actions
    sb.handle(ev.DialAnswered(LINE))
    assert sb.status()["calls"][0]["handset"] == "h2"


def test_call_back_now_needs_the_operator_at_a_desk():
    sb, clock = board()
    sb.operators.logout("Boris", clock.wall())
    with pytest.raises(ValueError, match="Boris is not logged in at a desk"):
        sb.request_callback("+79165550123", operator="Boris")
    assert sb.queue.waiting == []
