"""Calling a transfer off (a caller being moved to a sibling box that stopped being free, core/moves.py) at any
moment before the two calls are joined: through a line on the emulator's pty, whose replies the test holds back
(a network taking its time) to land the call-off in each window. The caller is never handed on once it is
called off: they are taken back, and nothing is dialled that need not be."""

from __future__ import annotations

from appliance.core.events import TransferResult
from tests.integration.test_modem_dial import answered, make_fixture  # noqa: F401 - the fixture
from tests.support.waiting import wait_until

SIBLING = "+79169990002"
WHY = "office-b has no operator free for the caller any more"


def taken_back(emu) -> bool:
    """The caller is on the line again, not held, and handed to nobody."""
    return (emu.script.call, emu.script.caller, emu.script.held, emu.script.transferred) == (
        "active", "+79160000001", None, [])


def test_a_transfer_called_off_while_it_waits_behind_another_command_never_begins(make):
    emu, line, events = make("sim800")
    answered(emu, line, events)
    busy = emu.script.gate("AT+CSQ")
    line.submit(lambda command: command("AT+CSQ", expect="+CSQ:"))  # the worker is busy with the signal
    assert busy.reached.wait(5)
    line.transfer(SIBLING)  # queued behind it
    line.call_off_transfer(SIBLING, WHY)
    busy.opened.set()
    assert events.until(TransferResult) == TransferResult("l1", SIBLING, False, f"called off: {WHY}")
    assert emu.count("AT+CHLD") == 0 and emu.count("ATD") == 0  # the caller was not even held
    assert taken_back(emu)


def called_off_at(make, command: str):
    """A transfer called off while the line waits for the network's reply to `command`; (emulator, events)."""
    emu, line, events = make("sim800")
    answered(emu, line, events)
    reply = emu.script.gate(command)
    line.transfer(SIBLING)
    assert reply.reached.wait(5)
    line.call_off_transfer(SIBLING, WHY)
    reply.opened.set()
    return emu, events


def test_a_transfer_called_off_while_the_caller_is_being_held_dials_nobody(make):
    emu, events = called_off_at(make, "AT+CHLD=2")
    assert events.until(TransferResult) == TransferResult("l1", SIBLING, False, f"called off: {WHY}")
    assert emu.count("ATD") == 0  # the sibling's phone never rang
    assert taken_back(emu)


def test_a_transfer_called_off_as_the_sibling_answers_is_not_joined(make):
    emu, line, events = make("sim800")
    answered(emu, line, events)
    line.transfer(SIBLING)
    assert emu.wait_for(f"ATD{SIBLING}", 5)
    asked = emu.script.gate("AT+CLCC")  # the line's look at the calls: the sibling has answered by its reply
    assert asked.reached.wait(5)
    wait_until(lambda: emu.script.call == "active", what="the sibling answering")
    line.call_off_transfer(SIBLING, WHY)
    asked.opened.set()
    assert events.until(TransferResult) == TransferResult("l1", SIBLING, False, f"called off: {WHY}")
    assert emu.count("AT+CHLD=4") == 0 and emu.count("AT+CHLD=3") == 0  # neither joined nor a conference
    assert taken_back(emu)  # the sibling's leg dropped (AT+CHLD=1), the caller back


def test_a_call_off_after_the_join_leaves_the_caller_with_the_sibling(make):
    emu, events = called_off_at(make, "AT+CHLD=4")  # too late: the network is joining them
    assert events.until(TransferResult) == TransferResult("l1", SIBLING, True, None)
    assert emu.script.transferred == [("+79160000001", SIBLING)]


def test_an_analogue_line_says_when_it_comes_up_that_it_cannot_hand_calls_on(make):
    """So its callers are left out of moves to a sibling from the start (core/moves.py), not tried and failed."""
    assert make("v253")[2].up.transfers is False
    assert make("sim800")[2].up.transfers is True
