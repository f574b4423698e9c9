"""Remote operators in the core (issue 20 item 1), with a fake clock: the caller's line holds the caller and
dials the operator's phone, the whisper plays, 1 accepts and anything else (or nothing) tries the next one."""

from __future__ import annotations

from appliance.core import events as ev
from appliance.core.remote import whisper_prompt
from appliance.core.switchboard import RINGBACK
from tests.unit.test_switchboard import LINE, board, classic_document, ended, to_menu

VERA, GLEB = "+79160000001", "+79160000002"


def remote_document() -> dict:
    """Anna at desk h1 (legal), and two volunteers at home with the legal skill."""
    document = classic_document()
    document["operators"] = [{"name": "Anna", "skills": ["legal"]}, {"name": "Boris", "skills": ["psychology"]},
                             {"name": "Vera", "skills": ["legal"], "phone": VERA},
                             {"name": "Gleb", "skills": ["legal"], "phone": GLEB}]
    document["queue"] = {"strategy": "linear"}
    return document


def remote_board():
    sb, clock = board(remote_document())
    sb.operators.logout("Anna", clock.wall())  # nobody at the desk: only the volunteers can take the caller
    for name in ("Vera", "Gleb"):
        sb.operators.login(name, f"phone:{name}", clock.wall())
    return sb, clock


def test_the_first_volunteer_declines_the_second_accepts_with_1_and_the_record_names_her_phone():
    sb, clock = remote_board()
    to_menu(sb, clock)
    actions = sb.handle(ev.DtmfReceived(LINE, "1"))
    assert actions[-2:] == [ev.StopAudio(LINE), ev.RingRemote(LINE, "phone:Vera", VERA)]
    assert ev.RingHandset("h1") not in actions
    assert sb.handle(ev.RemoteAnswered(LINE)) == [ev.StopAudio(LINE), ev.Play(LINE, whisper_prompt("legal"),
                                                                              loop=True)]
    clock.advance(2)
    actions = sb.handle(ev.DtmfReceived(LINE, "2"))  # declined: the caller back to the music, Gleb dialled
    assert actions == [ev.DropRemote(LINE), ev.StopAudio(LINE), ev.Play(LINE, RINGBACK, loop=True),
                       ev.StopAudio(LINE), ev.RingRemote(LINE, "phone:Gleb", GLEB)]
    sb.handle(ev.RemoteAnswered(LINE))
    assert sb.status()["handsets"][-1]["state"] == "ringing"
    actions = sb.handle(ev.DtmfReceived(LINE, "1"))
    assert actions[-3:] == [ev.StopAudio(LINE), ev.JoinRemote(LINE),
                            ev.CallConnected("call-1", "phone:Gleb", "Gleb", clock())]
    assert sb.handle(ev.RemoteJoined(LINE, "conference")) == []
    assert sb.operators.get("Gleb").state == "on_call" and sb.operators.get("Vera").state == "available"
    clock.advance(30)
    actions = sb.handle(ev.RemoteHangup(LINE))
    assert ev.HangUp(LINE) in actions  # the other leg of the conference goes too
    record = ended(actions)
    assert record["operator"] == "Gleb" and record["handset"] == "phone:Gleb" and record["talk_seconds"] == 30
    steps = [(e["event"], e["detail"]) for e in record["events"]]
    assert ("RINGNOANSWER", "declined with 2") in steps and ("JOINED", "conference") in steps


def test_a_volunteer_whose_voicemail_answers_never_takes_the_caller_and_one_on_a_call_is_never_rung():
    sb, clock = remote_board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    sb.handle(ev.RemoteAnswered(LINE))  # Vera's voicemail picks up and never presses 1
    clock.advance(20)  # her ring timeout
    actions = sb.handle(ev.Tick())
    assert actions[:3] == [ev.DropRemote(LINE), ev.StopAudio(LINE), ev.Play(LINE, RINGBACK, loop=True)]
    assert ev.RingRemote(LINE, "phone:Gleb", GLEB) in actions
    actions = sb.handle(ev.RemoteFailed(LINE, "busy"))  # Gleb is on another call: the caller waits with music
    assert actions == [ev.StopAudio(LINE), ev.Play(LINE, RINGBACK, loop=True)]
    assert sb.operators.get("Gleb").state == "available" and sb.operators.get("Gleb").missed_in_row == 1


def test_a_line_whose_network_refuses_hold_rings_no_remote_operator_again():
    sb, clock = remote_board()
    to_menu(sb, clock)
    sb.handle(ev.DtmfReceived(LINE, "1"))
    actions = sb.handle(ev.RemoteFailed(LINE, "the network refused to hold the caller: +CME ERROR: 3", refused=True))
    assert not any(isinstance(a, ev.RingRemote) for a in actions)
    assert sb.status()["lines"][0]["remote_refused"].startswith("the network refused to hold")


def test_a_volunteer_calls_back_from_her_phone_as_the_helpline():
    """Her phone first (dialled on the free line), the whisper, 1; then the caller is dialled with her held, and
    joined to her once they pick up: the caller sees the helpline's number, never hers."""
    sb, clock = remote_board()
    actions = sb.request_callback("+79165550123", operator="Vera")
    assert ev.Dial(LINE, VERA) in actions and not any(isinstance(a, ev.RingRemote) for a in actions)
    assert sb.handle(ev.DialAnswered(LINE)) == [ev.StopAudio(LINE), ev.Play(LINE, "whisper", loop=True)]
    actions = sb.handle(ev.DtmfReceived(LINE, "1"))
    assert ev.RingRemote(LINE, "phone:Vera", "+79165550123") in actions
    assert sb.handle(ev.RemoteAnswered(LINE)) == [ev.JoinRemote(LINE)]
    actions = sb.handle(ev.RemoteJoined(LINE, "conference"))
    assert actions[-1].state == "done" and sb.line_calls[LINE].connected_at is not None
    clock.advance(40)
    record = ended(sb.handle(ev.RemoteHangup(LINE)))
    assert (record["operator"], record["handset"], record["talk_seconds"]) == ("Vera", "phone:Vera", 40)


def test_a_volunteer_who_does_not_answer_her_own_callback_frees_the_line():
    sb, clock = remote_board()
    sb.request_callback("+79165550123", operator="Gleb")
    actions = sb.handle(ev.DialFailed(LINE, "no answer"))
    assert actions == [ev.HangUp(LINE)] and sb.line_calls[LINE] is None
    assert len(sb.queue.waiting) == 1  # it waits for him (his retry pause first)
