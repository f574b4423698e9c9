"""Desk features in the core with a fake clock (issue 20): calling back as the helpline from one operator's
desk, handing a caller to another desk, a supervisor barging in."""

from __future__ import annotations

import pytest

from appliance.core import events as ev
from appliance.core.switchboard import RINGBACK
from tests.unit.test_switchboard import LINE, board, ended, to_menu


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


def test_call_back_now_needs_the_operator_logged_in():
    sb, clock = board()
    sb.operators.logout("Boris", clock.wall())
    with pytest.raises(ValueError, match="Boris is not logged in"):
        sb.request_callback("+79165550123", operator="Boris")
    assert sb.queue.waiting == []


def connected_to_anna(sb, clock):
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    sb.handle(ev.HookOff("h1"))
    return sb.line_calls[LINE]


def test_a_caller_handed_from_desk_1_to_desk_2_hears_music_and_the_first_operator_drops():
    sb, clock = board()
    call = connected_to_anna(sb, clock)
    actions = sb.desks.hand_over(call, to_handset="h2")
    assert actions == [ev.DisconnectAudio("h1"), ev.StopAudio(LINE), ev.Play(LINE, RINGBACK, loop=True),
                       ev.RingHandset("h2")]
    assert sb.status()["calls"][0]["handed_by"] == "Anna" and sb.status()["calls"][0]["ringing"] == ["h2"]
    assert sb.handle(ev.HookOn("h1")) == []  # Anna drops; nobody is waiting, so nothing else to do
    assert sb.operators.get("Anna").state == "wrap_up"
    clock.advance(3)
    actions = sb.handle(ev.HookOff("h2"))
    assert actions[:3] == [ev.StopRinging("h2"), ev.StopAudio(LINE), ev.ConnectAudio("h2", LINE)]
    assert (call.handset, call.operator) == ("h2", "Boris")
    clock.advance(20)
    record = ended(sb.handle(ev.HookOn("h2")))
    assert record["operator"] == "Boris" and record["outcome"] == "completed"
    assert ("HANDOVER", "Anna to Boris") in [(e["event"], e["detail"]) for e in record["events"]]


def test_a_three_way_handover_by_skill_then_the_first_operator_leaves_and_the_call_goes_on():
    sb, clock = board()
    call = connected_to_anna(sb, clock)
    assert ev.RingHandset("h2") in sb.desks.hand_over(call, skill="psychology", stay=True)
    actions = sb.handle(ev.HookOff("h2"))
    assert ev.ConnectAudio("h2", LINE) in actions and ev.ConnectAudio("h1", LINE) in actions
    assert sb.status()["calls"][0]["with"] == ["h1"]
    assert sb.handle(ev.HookOn("h1")) == [ev.DisconnectAudio("h1")]  # the introduction is over
    assert sb.line_calls[LINE] is call and call.handset == "h2"
    assert not any(isinstance(a, ev.HangUp) for a in sb.handle(ev.Tick()))


def test_nobody_takes_the_handover_and_the_caller_goes_back_to_the_first_operator():
    sb, clock = board()
    call = connected_to_anna(sb, clock)
    sb.desks.hand_over(call, to_handset="h2")
    clock.advance(21)
    actions = sb.handle(ev.Tick())
    assert actions == [ev.StopRinging("h2"), ev.StopAudio(LINE), ev.ConnectAudio("h1", LINE)]
    assert call.handset == "h1"
    with pytest.raises(ValueError, match="nobody with the skill 'astrology'"):
        sb.desks.hand_over(call, skill="astrology")


def test_a_supervisor_barges_in_or_listens_with_the_microphone_cut():
    sb, clock = board()
    call = connected_to_anna(sb, clock)
    with pytest.raises(ValueError, match="lift the receiver of h2 first"):
        sb.desks.barge(call, "h2")
    sb.handle(ev.HookOff("h2"))
    assert sb.desks.barge(call, "h2", listen_only=True) == [ev.MuteHandset("h2", True), ev.ConnectAudio("h2", LINE)]
    assert sb.handle(ev.HookOn("h2")) == [ev.DisconnectAudio("h2"), ev.MuteHandset("h2", False)]
    sb.handle(ev.HookOff("h2"))
    assert sb.desks.barge(call, "h2") == [ev.ConnectAudio("h2", LINE)]
    actions = sb.handle(ev.RemoteHangup(LINE))
    assert ev.DisconnectAudio("h2") in actions and ev.DisconnectAudio("h1") in actions
    assert [e["event"] for e in ended(actions)["events"]].count("BARGE") == 1
