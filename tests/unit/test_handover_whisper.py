"""The spoken handover whisper (issue 20 item 5), in the core with a fake clock: with [queue] handover_whisper the
desk taking a handed-over caller hears who is coming in its handset alone, over a free line's audio bus, and only
then joins the caller; the whisper is cut short cleanly when anyone leaves."""

from __future__ import annotations

import copy

from appliance.core import events as ev
from appliance.core.desks import handover_prompt
from appliance.core.switchboard import RINGBACK
from tests.unit.test_desks import connected_to_anna
from tests.unit.test_switchboard import LINE, board, classic_document, ended

FREE = "gsm2"


def whisper_board(*, on: bool = True):
    document = copy.deepcopy(classic_document())
    document["lines"].append(dict(document["lines"][0], id=FREE, port="sim://sim800-2"))
    for number, handset in enumerate(document["handsets"]):
        handset["audio_pins"][FREE] = 24 + number
    document.setdefault("queue", {})["handover_whisper"] = on
    sb, clock = board(document)
    sb.handle(ev.LineUp(FREE))
    return sb, clock


def test_the_taking_desk_hears_who_is_coming_on_the_free_line_then_joins_the_caller():
    sb, clock = whisper_board()
    call = connected_to_anna(sb, clock)
    sb.desks.hand_over(call, to_handset="h2", stay=True)
    actions = sb.handle(ev.HookOff("h2"))
    assert actions[:3] == [ev.StopRinging("h2"), ev.ConnectAudio("h2", FREE), ev.Play(FREE, handover_prompt("legal"))]
    assert ev.ConnectAudio("h2", LINE) not in actions and ev.StopAudio(LINE) not in actions  # music goes on
    assert sb.line_calls[FREE] is None and not sb.callbacks.lines.is_free(FREE)  # lent to the whisper
    assert sb.handle(ev.PromptFinished(FREE, handover_prompt("legal"))) == [
        ev.StopAudio(FREE), ev.StopAudio(LINE), ev.ConnectAudio("h2", LINE), ev.ConnectAudio("h1", LINE)]
    assert sb.callbacks.lines.is_free(FREE)
    record = ended(sb.handle(ev.RemoteHangup(LINE)))
    assert ("WHISPER", f"spoken on line {FREE}") in [(e["event"], e["detail"]) for e in record["events"]]


def test_without_the_flag_or_a_free_line_the_desk_joins_at_once_as_before():
    sb, clock = whisper_board(on=False)
    sb.desks.hand_over(connected_to_anna(sb, clock), to_handset="h2")
    assert sb.handle(ev.HookOff("h2"))[:3] == [ev.StopRinging("h2"), ev.StopAudio(LINE), ev.ConnectAudio("h2", LINE)]

    sb, clock = whisper_board()
    sb.handle(ev.LineDown(FREE, "no SIM"))
    sb.desks.hand_over(connected_to_anna(sb, clock), to_handset="h2")
    assert sb.handle(ev.HookOff("h2"))[:3] == [ev.StopRinging("h2"), ev.StopAudio(LINE), ev.ConnectAudio("h2", LINE)]


def test_the_caller_or_the_desk_leaving_during_the_whisper_frees_the_line_and_joins_nobody():
    sb, clock = whisper_board()
    sb.desks.hand_over(connected_to_anna(sb, clock), to_handset="h2")
    sb.handle(ev.HookOff("h2"))
    actions = sb.handle(ev.RemoteHangup(LINE))
    assert ev.StopAudio(FREE) in actions and ended(actions)["outcome"] == "completed"
    assert sb.callbacks.lines.is_free(FREE)
    assert sb.handle(ev.PromptFinished(FREE, handover_prompt("legal"))) == []  # said to nobody: nothing to join

    sb, clock = whisper_board()
    sb.desks.hand_over(connected_to_anna(sb, clock), to_handset="h2")
    sb.handle(ev.HookOff("h2"))
    actions = sb.handle(ev.HookOn("h2"))
    assert actions[0] == ev.StopAudio(FREE) and ev.ConnectAudio("h2", LINE) not in actions
    assert sb.callbacks.lines.is_free(FREE)


def test_the_free_line_failing_mid_whisper_joins_the_desk_to_the_caller_at_once():
    sb, clock = whisper_board()
    sb.desks.hand_over(connected_to_anna(sb, clock), to_handset="h2")
    sb.handle(ev.HookOff("h2"))
    actions = sb.handle(ev.LineDown(FREE, "port lost"))
    assert actions == [ev.StopAudio(FREE), ev.StopAudio(LINE), ev.ConnectAudio("h2", LINE)]
    assert sb.line_state[FREE] == "down"
    assert ev.Play(LINE, RINGBACK, loop=True) not in actions
