"""Moving a waiting caller to a sibling box with a free operator (issue 21, item 4), with a fake clock: the caller
leaves the queue before the transfer (no desk rings for them meanwhile), returns at their place if it fails or
the sibling stops being free, and a call arriving from a sibling's number is marked as moved here."""

from __future__ import annotations

import itertools

from appliance import config as configuration
from appliance.core import events as ev
from appliance.core.clock import FakeClock
from appliance.core.events import CancelTransfer, SiblingsHeard
from appliance.core.siblings import Sibling
from appliance.core.switchboard import RINGBACK, Switchboard
from appliance.service.switchboard_setup import make_switchboard
from tests.unit.test_switchboard import CLASSIC_FLOW

B_NUMBER, A_NUMBER = "+79169990002", "+79169990001"
OFFICE_B = Sibling("office-b", (B_NUMBER,), free=1, free_skills={"legal": 1, "general": 1})
OFFICE_C = Sibling("office-c", ("+79169990003",), free=1, free_skills={"psychology": 1})  # not the skill wanted


def board(move_after: float = 30, operators: bool = False) -> tuple[Switchboard, FakeClock]:
    document = configuration.default_document()
    document["flow"] = CLASSIC_FLOW
    document.pop("queue")
    document["lines"].append({**document["lines"][0], "id": "gsm2"})
    for handset in document["handsets"]:
        handset["audio_pins"]["gsm2"] = handset["audio_pins"]["gsm1"] + 1
    document["fleet"] = {"broker": "mqtt://127.0.0.1", "box": "office-a", "numbers": [A_NUMBER],
                         "move_after": move_after}
    clock = FakeClock()
    ids = (f"call-{n}" for n in itertools.count(1))
    sb = make_switchboard(configuration.parse(document, simulated=True), clock, new_id=lambda: next(ids))
    if not operators:  # nobody at the desks: callers wait
        for name in ("Anna", "Boris"):
            sb.operators.logout(name, clock.wall())
    sb.handle(ev.LineUp("gsm1"))
    sb.handle(ev.LineUp("gsm2"))
    return sb, clock


def waiting_for_legal(sb: Switchboard, clock: FakeClock, line: str, caller: str) -> None:
    sb.handle(ev.IncomingCall(line, caller))
    sb.handle(ev.CallAnswered(line))
    sb.handle(ev.PromptFinished(line, "greeting"))
    assert ev.Play(line, RINGBACK, loop=True) in sb.handle(ev.DtmfReceived(line, "1"))


def waiting(sb: Switchboard) -> list[str]:
    return [call.id for call in sb.queue.waiting]


def on_lines(actions: list[object]) -> list[object]:
    """The actions for the lines and desks, without the word to the sibling (checked on its own)."""
    return [a for a in actions if not isinstance(a, ev.AnnounceMove)]


def test_a_caller_who_waited_long_enough_is_moved_to_the_sibling_with_a_free_operator_of_their_skill():
    sb, clock = board()
    waiting_for_legal(sb, clock, "gsm1", "+79161234567")
    assert sb.handle(SiblingsHeard((OFFICE_C, OFFICE_B))) == []  # free there, but the caller has not waited 30 s
    assert sb.next_deadline() == clock.monotonic() + 30  # the wake-up, not a poll
    clock.advance(30)
    assert sb.handle(ev.Tick()) == [  # office-b hears first who is coming, with what they chose here
        ev.AnnounceMove("office-b", "call-1", "legal", None, 30.0, "+79161234567"),
        ev.StopAudio("gsm1"), ev.Transfer("gsm1", B_NUMBER)]
    assert waiting(sb) == [] and sb.status()["waiting"] == []  # out of the queue before the transfer
    assert [c["state"] for c in sb.status()["calls"]] == ["moving"]  # as the dashboard shows it

    # A desk frees up meanwhile: it is not rung for a caller being handed on.
    sb.operators.login("Anna", "h1", clock.wall())
    assert not [a for a in sb.handle(ev.Tick()) if isinstance(a, ev.RingHandset)]

    clock.advance(2)
    actions = sb.handle(ev.TransferResult("gsm1", B_NUMBER, True))
    record = next(a.record for a in actions if isinstance(a, ev.CallEnded))
    assert record.outcome == "transferred" and record.ended_by == "system"
    assert record.reason == "moved to office-b: an operator was free there"
    timeline = [(e["event"], e["detail"]) for e in record.events]
    assert ("MOVE", f"to office-b ({B_NUMBER})") in timeline and ("MOVED", "office-b") in timeline
    assert record.wait_seconds == 32  # waited here, then handed on


def test_a_sibling_no_longer_free_mid_transfer_calls_it_off_and_the_caller_is_back_at_their_place():
    sb, clock = board()
    waiting_for_legal(sb, clock, "gsm1", "+79161234567")
    clock.advance(10)
    waiting_for_legal(sb, clock, "gsm2", "+79161112233")
    clock.advance(20)
    actions = on_lines(sb.handle(SiblingsHeard((OFFICE_B,))))
    assert actions == [ev.StopAudio("gsm1"), ev.Transfer("gsm1", B_NUMBER)]  # one free operator: one caller
    assert waiting(sb) == ["call-2"]
    clock.advance(10)
    assert sb.handle(ev.Tick()) == []  # call-2 is due now, but office-b's one operator is taken by call-1

    busy = Sibling("office-b", (B_NUMBER,), free=0, free_skills={})
    assert sb.handle(SiblingsHeard((busy,))) == [
        CancelTransfer("gsm1", B_NUMBER, "office-b has no operator free for the caller any more")]
    actions = sb.handle(ev.TransferResult("gsm1", B_NUMBER, False, "called off"))
    assert actions == [ev.AnnounceMove("office-b", "call-1", off=True), ev.Play("gsm1", RINGBACK, loop=True)]
    assert waiting(sb) == ["call-1", "call-2"]  # first again, ahead of the caller who came after
    call = sb.line_calls["gsm1"]
    assert call.queued and call.outcome is None
    assert ("FAILED", "move to office-b: office-b has no operator free for the caller any more") in [
        (e["event"], e["detail"]) for e in call.events]
    # Its max wait (60 s from entering the queue) still runs from the first moment: the flow's overflow then.
    clock.advance(20)
    overflow = sb.handle(ev.Tick())
    assert ev.Play("gsm1", "nobody") in overflow and waiting(sb) == ["call-2"]


def test_a_failed_transfer_puts_the_caller_back_and_that_sibling_is_not_tried_again_for_them():
    sb, clock = board()
    waiting_for_legal(sb, clock, "gsm1", "+79161234567")
    clock.advance(10)
    waiting_for_legal(sb, clock, "gsm2", "+79161112233")
    clock.advance(20)
    assert sb.handle(SiblingsHeard((OFFICE_B,)))[-1] == ev.Transfer("gsm1", B_NUMBER)
    assert on_lines(sb.handle(ev.TransferResult("gsm1", B_NUMBER, False, "busy"))) == [
        ev.Play("gsm1", RINGBACK, loop=True)]
    clock.advance(10)
    assert sb.handle(ev.Tick()) == [] and waiting(sb) == ["call-1", "call-2"]  # office-b's last word: spent
    # A new status from office-b: the next caller is tried; the one whose transfer it refused is not again.
    assert on_lines(sb.handle(SiblingsHeard((Sibling("office-b", (B_NUMBER,), free=2,
                                                       free_skills={"legal": 2}),)))) == [
        ev.StopAudio("gsm2"), ev.Transfer("gsm2", B_NUMBER)]
    assert waiting(sb) == ["call-1"]


def test_a_caller_ringing_a_desk_here_or_a_box_that_never_moves_callers_stays():
    sb, clock = board(move_after=0)
    waiting_for_legal(sb, clock, "gsm1", "+79161234567")
    clock.advance(50)
    assert sb.handle(SiblingsHeard((OFFICE_B,))) == [] and waiting(sb) == ["call-1"]

    sb, clock = board(move_after=5, operators=True)
    waiting_for_legal(sb, clock, "gsm1", "+79161234567")  # Anna's desk rings for them (for 15 s)
    clock.advance(5)
    assert not [a for a in sb.handle(SiblingsHeard((OFFICE_B,))) if isinstance(a, ev.Transfer)]


def test_a_call_from_a_siblings_number_is_marked_moved_here_goes_ahead_and_is_never_moved_on():
    sb, clock = board()
    office_a = Sibling("office-z", (A_NUMBER,), free=0)
    sb.handle(SiblingsHeard((office_a, OFFICE_B)))
    waiting_for_legal(sb, clock, "gsm1", "+79161234567")
    sb.handle(ev.IncomingCall("gsm2", None))
    sb.handle(ev.CallerId("gsm2", "89169990001"))  # the national form of office-z's number, after the RING
    moved = sb.line_calls["gsm2"]
    assert ("FROM_SIBLING", "office-z") in [(e["event"], e["detail"]) for e in moved.events]
    sb.handle(ev.CallAnswered("gsm2"))
    sb.handle(ev.PromptFinished("gsm2", "greeting"))
    sb.handle(ev.DtmfReceived("gsm2", "1"))
    assert waiting(sb) == ["call-2", "call-1"]  # waited at office-z already: ahead
    clock.advance(30)
    transfers = [a for a in sb.handle(ev.Tick()) if isinstance(a, ev.Transfer)]
    assert transfers == [ev.Transfer("gsm1", B_NUMBER)]  # the local caller goes on; the moved one never again


def test_a_caller_a_sibling_announced_goes_straight_to_the_queue_for_their_skill_hearing_connecting_you():
    sb, clock = board()
    sb.plan.prompts = sb.plan.prompts | {"fleet.connecting"}
    sb.handle(SiblingsHeard((Sibling("office-z", (A_NUMBER,), free=0), OFFICE_B)))
    sb.handle(ev.MoveAnnounced("office-z", "z-7", "psychology", "ru", 75.0, "+7 *** ***-45-67"))
    clock.advance(5)  # the hold, the dial and the network's set-up
    sb.handle(ev.IncomingCall("gsm1", A_NUMBER))
    actions = sb.handle(ev.CallAnswered("gsm1"))
    assert actions[0] == ev.AnnounceMove("office-z", "z-7", landed=True)  # office-z hears the caller arrived
    assert ev.Play("gsm1", "fleet.connecting") in actions  # no greeting, no menu: it has no Russian variant here
    assert waiting(sb) == ["call-1"] and sb.queue.waiting[0].skill == "psychology"
    call = sb.line_calls["gsm1"]
    assert call.language == "ru" and call.priority
    assert ("MOVED_IN", "psychology, waited 75 s, ru (office-z's call z-7)") in [
        (e["event"], e["detail"]) for e in call.events]
    # The masked number that box shared is on the fleet page's list only (memory), never in this box's records.
    assert sb.moves.summary()["recent"][0]["detail"] == "psychology, waited 75 s, ru, +7 *** ***-45-67"
    assert ev.Play("gsm1", RINGBACK, loop=True) in sb.handle(ev.PromptFinished("gsm1", "fleet.connecting"))

    # The next call from office-z with no word ahead of it (or the word withdrawn, or too old) meets the menu.
    sb.handle(ev.MoveAnnounced("office-z", "z-8", "legal"))
    sb.handle(ev.MoveAnnounced("office-z", "z-8", off=True))
    sb.handle(ev.MoveAnnounced("office-z", "z-9", "legal"))
    clock.advance(61)
    sb.handle(ev.IncomingCall("gsm2", A_NUMBER))
    assert sb.handle(ev.CallAnswered("gsm2")) == [ev.Play("gsm2", "greeting")]


def test_the_word_to_a_sibling_carries_the_callers_number_only_masked_and_only_when_the_box_shares_callers():
    from appliance.core.box_events import BoxEvent
    from appliance.fleet.payloads import move_payload
    from appliance.records.privacy import Privacy, appear

    event = BoxEvent("call_moving", 1.0, {"to": "office-b", "call_id": "c1", "skill": "legal", "language": "en",
                                          "waited": 61.04, "caller": "+79161234567", "off": False, "landed": False})
    shared = {mode: (lambda number, mode=mode: appear(number, "live", policy=Privacy(mode, b"k" * 32)))
              for mode in ("full", "masked", "pseudonym")}
    assert move_payload(event, box="office-a")["caller"] is None  # share_callers off (the default)
    assert move_payload(event, box="office-a", caller=shared["full"])["caller"] == "+7 *** ***-45-67"
    assert move_payload(event, box="office-a", caller=shared["masked"])["caller"] == "+7 *** ***-45-67"
    assert move_payload(event, box="office-a", caller=shared["pseudonym"])["caller"] is None
    assert move_payload(event, box="office-a")["waited_seconds"] == 61.0


def test_a_caller_on_an_analogue_line_is_never_tried_and_the_fleet_page_says_why():
    sb, clock = board(move_after=5)
    sb.handle(ev.LineUp("gsm2", transfers=False))  # its modem is a V.253 one
    waiting_for_legal(sb, clock, "gsm2", "+79161112233")
    assert sb.next_deadline() is None or sb.next_deadline() > clock.monotonic() + 5  # no wake-up for it
    clock.advance(30)
    assert on_lines(sb.handle(SiblingsHeard((OFFICE_B,)))) == [] and waiting(sb) == ["call-1"]
    assert not [e for e in sb.line_calls["gsm2"].events if e["event"] in ("MOVE", "FAILED")]
    assert sb.moves.summary()["fixed"] == ["gsm2"]
    waiting_for_legal(sb, clock, "gsm1", "+79161234567")  # a GSM line's caller still goes
    clock.advance(5)
    assert on_lines(sb.handle(ev.Tick())) == [ev.StopAudio("gsm1"), ev.Transfer("gsm1", B_NUMBER)]


def test_a_siblings_word_that_is_not_for_this_box_or_reads_wrong_is_ignored():
    import json

    from appliance.fleet.payloads import move_announced

    def heard(**fields: object) -> ev.MoveAnnounced | None:
        word = {"box": "office-a", "to": "office-b", "call": "c1", "skill": "legal", "language": "en",
                "waited_seconds": 61.0, "caller": None, "off": False, "landed": False, **fields}
        return move_announced(json.dumps(word).encode(), here="office-b")

    assert heard() == ev.MoveAnnounced("office-a", "c1", "legal", "en", 61.0)
    assert heard(to="office-c") is None and heard(box="office-b") is None and heard(call=7) is None
    assert heard(call="c" * 65) is None
    assert heard(skill="x" * 65).skill is None and heard(waited_seconds=True).waited == 0.0
    assert move_announced(b"{not json", here="office-b") is None
