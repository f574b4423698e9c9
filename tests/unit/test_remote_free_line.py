"""A remote operator dialled on a second, free line (issue 20 item 1), in the core with a fake clock: the caller
stays on their own line with the box's music, the whisper and the key are the free line's, 1 bridges the two
lines' audio; every end (either side hanging up, either line failing) leaves nothing up and nobody stuck."""

from __future__ import annotations

import copy

from appliance.core import events as ev
from appliance.core.remote import whisper_prompt
from appliance.core.switchboard import RINGBACK
from tests.unit.test_remote_operators import GLEB, VERA, remote_document
from tests.unit.test_switchboard import LINE, board, ended, to_menu

LEG = "gsm2"


def two_line_board(*, survey: bool = False):
    document = copy.deepcopy(remote_document())  # its flow is test_switchboard's shared CLASSIC_FLOW
    second = dict(document["lines"][0], id=LEG, port="sim://sim800-2")
    document["lines"].append(second)
    if survey:
        document["flow"]["nodes"]["legal"]["survey"] = "rate"
        document["flow"]["nodes"]["rate"] = {"type": "play", "prompt": "nobody", "next": "bye"}
    sb, clock = board(document)
    sb.handle(ev.LineUp(LEG))
    sb.operators.logout("Anna", clock.wall())
    for name in ("Vera", "Gleb"):
        sb.operators.login(name, f"phone:{name}", clock.wall())
    return sb, clock


def _to_vera(sb, clock) -> list:
    to_menu(sb, clock)
    return sb.handle(ev.DtmfReceived(LINE, "1"))


def _bridged_with_gleb(sb, clock) -> None:
    _to_vera(sb, clock)
    sb.handle(ev.DialAnswered(LEG))
    sb.handle(ev.DtmfReceived(LEG, "2"))
    sb.handle(ev.DialAnswered(LEG))
    clock.advance(1)
    assert ev.Bridge(LINE, LEG) in sb.handle(ev.DtmfReceived(LEG, "1"))


def test_the_caller_keeps_the_box_music_while_volunteers_are_dialled_on_the_free_line_then_the_lines_are_bridged():
    sb, clock = two_line_board()
    actions = _to_vera(sb, clock)
    assert actions == [ev.StopAudio(LINE), ev.Play(LINE, RINGBACK, loop=True), ev.Dial(LEG, VERA)]
    assert not any(isinstance(a, ev.RingRemote | ev.DropRemote) for a in actions)  # the caller is never held
    assert sb.handle(ev.DialAnswered(LEG)) == [ev.Play(LEG, whisper_prompt("legal"), loop=True)]
    assert sb.handle(ev.DtmfReceived(LEG, "2")) == [ev.StopAudio(LEG), ev.HangUp(LEG), ev.Dial(LEG, GLEB)]
    sb.handle(ev.DialAnswered(LEG))
    clock.advance(2)
    actions = sb.handle(ev.DtmfReceived(LEG, "1"))
    assert actions == [ev.StopAudio(LEG), ev.StopAudio(LINE), ev.Bridge(LINE, LEG),
                       ev.CallConnected("call-1", "phone:Gleb", "Gleb", clock())]
    assert sb.line_calls[LEG] is None and sb.status()["lines"][1]["lent_to"] == "call-1"
    clock.advance(30)
    actions = sb.handle(ev.RemoteHangup(LINE))  # the caller hangs up: the operator's leg goes too
    assert ev.HangUp(LEG) in actions and ev.StopAudio(LEG) in actions
    assert ev.HangUp(LINE) not in actions  # the caller's line is free already: a late hang-up would reject the next
    record = ended(actions)
    assert (record["operator"], record["handset"], record["outcome"]) == ("Gleb", "phone:Gleb", "completed")
    steps = [(e["event"], e["detail"]) for e in record["events"]]
    assert ("DIALOPERATOR", f"Vera, free line {LEG}") in steps and ("RINGNOANSWER", "declined with 2") in steps
    assert ("JOINED", f"bridged with free line {LEG}") in steps
    assert sb.callbacks.lines.lent == {} and sb.callbacks.lines.free() == LINE


def test_the_operator_hanging_up_after_talking_ends_the_call_like_a_desk_or_asks_the_survey():
    sb, clock = two_line_board()
    _bridged_with_gleb(sb, clock)
    actions = sb.handle(ev.RemoteHangup(LEG))
    assert ev.HangUp(LINE) in actions and ev.HangUp(LEG) in actions
    record = ended(actions)
    assert (record["outcome"], record["ended_by"]) == ("completed", "operator")

    sb, clock = two_line_board(survey=True)
    _bridged_with_gleb(sb, clock)
    actions = sb.handle(ev.RemoteHangup(LEG))
    assert ev.HangUp(LINE) not in actions and ev.Play(LINE, "nobody") in actions  # the flow's next: the survey
    assert ev.HangUp(LEG) in actions and sb.callbacks.lines.lent == {}
    assert sb.operators.get("Gleb").state != "on_call"


def test_the_free_line_failing_puts_the_caller_back_in_the_queue_or_tries_the_next_volunteer():
    sb, clock = two_line_board()
    _to_vera(sb, clock)
    actions = sb.handle(ev.DialFailed(LEG, "busy"))
    assert actions == [ev.StopAudio(LEG), ev.Dial(LEG, GLEB)]  # Vera busy: Gleb next, same free line
    actions = sb.handle(ev.LineDown(LEG, "the modem stopped answering"))
    assert sb.line_state[LEG] == "down" and sb.callbacks.lines.lent == {}
    assert not any(isinstance(a, ev.Dial | ev.HangUp) for a in actions)
    assert ev.RingRemote(LINE, "phone:Vera", VERA) not in actions  # Vera is in her retry pause
    sb.handle(ev.LineUp(LEG))

    sb, clock = two_line_board()
    _bridged_with_gleb(sb, clock)
    actions = sb.handle(ev.LineDown(LEG, "the modem stopped answering"))
    assert ev.Play(LINE, RINGBACK, loop=True) in actions  # back on the queue's music, waiting for the next one
    call = sb.line_calls[LINE]
    assert call is not None and call.queued and call.handset is None
    assert ("FAILED", f"line {LEG} failed: the modem stopped answering") in [(e["event"], e["detail"])
                                                                          for e in call.events]


def test_the_callers_line_failing_hangs_up_the_operators_leg():
    sb, clock = two_line_board()
    _bridged_with_gleb(sb, clock)
    actions = sb.handle(ev.LineDown(LINE, "port lost"))
    assert ev.HangUp(LEG) in actions and ended(actions)["outcome"] == "failed"
    assert sb.callbacks.lines.lent == {}


def test_with_no_free_line_the_caller_is_held_on_their_own_line_as_before():
    sb, clock = two_line_board()
    sb.handle(ev.LineDown(LEG, "no SIM"))
    actions = _to_vera(sb, clock)
    assert actions[-2:] == [ev.StopAudio(LINE), ev.RingRemote(LINE, "phone:Vera", VERA)]
    assert ("DIALOPERATOR", f"Vera, on hold on {LINE}") in [(e["event"], e["detail"])
                                                            for e in sb.line_calls[LINE].events]
