"""Remote operators: people who answer the helpline on their own phones.

The queue rings a remote operator like a desk handset (their phone stands in it as the handset
"phone:<name>"): the caller's line holds the caller and dials the phone (RingRemote). When the phone picks
up, the whisper ("Helpline call, legal question, press 1 to accept") plays to it until the operator presses
1, which joins them and the caller (JoinRemote; the network's conference, else its explicit call transfer).
Any other key, a hang-up, or the wave's ring timeout lets the caller go back to the queue's music and the next
operator be tried: a volunteer's own voicemail, which never presses 1, never takes a caller.

With a second line free, the phone is dialled there instead (Dial on the lent line, queue.py): the caller stays
on their own line hearing the box's music, the whisper and the key are the lent line's, and on 1 the box carries
each line's audio into the other (Bridge). Every event on a lent line is the leg's (`leg_event`): the operator
hanging up after talking ends the call the way a desk's receiver going down does (the survey, if any), the lent
line failing puts the caller back in the queue.
"""

from __future__ import annotations

from collections.abc import Callable

from . import events as ev
from .call import Call, CallbackRequest
from .callbacks import Callbacks
from .clock import Clock
from .lines import Lines
from .operators import PHONE_PREFIX
from .queue import Queue

ACCEPT_KEY = "1"
# what a line lent to a remote leg reports: its dial's outcome, the operator's key, hang-up, the line failing
LEG_EVENTS = (ev.DialAnswered, ev.DialFailed, ev.DtmfReceived, ev.RemoteHangup, ev.LineDown, ev.PromptFinished)
__all__ = ["ACCEPT_KEY", "PHONE_PREFIX", "RemoteOperators", "phone_handset", "whisper_prompt"]


def phone_handset(operator: str) -> str:
    """The handset a remote operator's phone is in the queue."""
    return PHONE_PREFIX + operator


def whisper_prompt(skill: str | None) -> str:
    """What the remote operator hears on picking up, per skill (the catalog renders one for every skill)."""
    return f"whisper.{skill}" if skill else "whisper"


class RemoteOperators:
    """The remote leg on each line: which phone it dials for which call, and whether it picked up."""

    def __init__(self, lines: Lines, queue: Queue, clock: Clock,
                 finish: Callable[[Call, str, str, str | None], list[object]], callbacks: Callbacks,
                 operator_done: Callable[[Call], list[object] | None] = lambda call: None) -> None:
        self.lines = lines
        self.callbacks = callbacks
        self.queue = queue
        self.clock = clock
        self._finish = finish
        self._operator_done = operator_done  # the flow's next step once an operator hangs up (the survey)
        self.answered: set[str] = set()  # lines whose remote leg picked up and hears the whisper

    def _leg(self, line: str) -> tuple[Call, str] | None:
        """The call on `line` and the phone it is ringing now, if it is ringing one."""
        call = self.lines.call_on(line)
        if call is None:
            return None
        phone = next((h for h in call.ringing if self.queue.handsets[h].phone is not None
                      and self.queue.handsets[h].leg_line is None), None)
        return (call, phone) if phone is not None else None

    def whispering(self, line: str) -> bool:
        """A key on this line is the remote operator's answer to the whisper, not the caller's menu choice."""
        return line in self.answered and self._leg(line) is not None

    def dialling_operator(self, line: str) -> bool:
        """A callback request's line is dialling its operator's phone (not yet the caller)."""
        return isinstance(self.lines.call_on(line), CallbackRequest) and self._leg(line) is not None

    def dial_answered(self, event: ev.DialAnswered) -> list[object]:
        """A line's outbound call was answered: a remote operator's phone, dialled for their own callback, or the
        caller of a callback."""
        if self.dialling_operator(event.line):
            return self.picked_up(ev.RemoteAnswered(event.line))
        return self.callbacks.dial_answered(event)

    def picked_up(self, event: ev.RemoteAnswered) -> list[object]:
        call = self.lines.call_on(event.line)
        if isinstance(call, CallbackRequest) and call.handset is not None and call.connected_at is None:
            return [ev.JoinRemote(event.line)]  # the caller picked up: joined to their operator at once
        leg = self._leg(event.line)
        if leg is None:
            return [ev.DropRemote(event.line)]  # the call stopped ringing it meanwhile
        call, phone = leg
        self.answered.add(event.line)
        call.log(self.clock.wall(), "WHISPER", handset=phone, detail=call.ringing[phone])
        return [ev.StopAudio(event.line), ev.Play(event.line, whisper_prompt(call.skill), loop=True)]

    def key(self, event: ev.DtmfReceived) -> list[object]:
        call, phone = self._leg(event.line) or (None, None)
        if call is None or phone is None:
            return []
        self.answered.discard(event.line)
        if event.digit == ACCEPT_KEY:
            actions = self.queue.lifted(phone, call)
            if isinstance(call, CallbackRequest):  # now the caller, held off the operator's line
                call.attempts += 1
                call.log(self.clock.wall(), "DIAL", detail=call.number)
                actions += [ev.StopAudio(call.line), ev.RingRemote(call.line, phone, call.number),
                            ev.SaveCallback(call.id, None, call.number, "dialling", call.attempts)]
            return actions
        actions = self.queue.stop_one(call, phone, unanswered=True, why=f"declined with {event.digit}")
        return self._next(call, actions)

    def failed(self, event: ev.RemoteFailed) -> list[object]:
        self.answered.discard(event.line)
        if event.refused:
            self.queue.remote_refused[event.line] = event.reason
        call = self.lines.call_on(event.line)
        if call is None:
            return []
        leg = self._leg(event.line)
        if leg is not None:
            actions = self.queue.stop_one(call, leg[1], unanswered=True, why=event.reason)
            # the line has taken the caller back already: no second hang-up of a leg that is gone
            return self._next(call, [a for a in actions if not isinstance(a, ev.DropRemote)])
        if isinstance(call, CallbackRequest) and call.handset is not None and call.connected_at is None:
            # the caller could not be reached: the operator, back on the line, is hung up; it is tried later
            return [ev.HangUp(event.line), *self.callbacks.dial_failed(ev.DialFailed(event.line, event.reason))]
        if call.handset is not None and self.queue.handsets[call.handset].phone is not None \
                and call.connected_at is not None:
            return self._rejoin_queue(call, event.reason)
        return []

    def joined(self, event: ev.RemoteJoined) -> list[object]:
        call = self.lines.call_on(event.line)
        if call is None or call.handset is None:
            return []
        call.log(self.clock.wall(), "JOINED", handset=call.handset, detail=event.how)
        actions = self.callbacks.dial_answered(ev.DialAnswered(event.line)) if isinstance(call, CallbackRequest) \
            else []
        if event.how == "transfer":
            # Explicit call transfer: the two talk without the box, which cannot hear when they finish.
            return actions + self._finish(call, "transferred", "operator",
                                          f"joined to {call.operator}'s phone by transfer")
        return actions

    def ended(self, call: Call) -> bool:
        """The caller's call is joined to a remote phone in the network's conference on the caller's line: either
        side hanging up ends it for both. (A leg on a free line is hung up with the call's end: queue.released.)"""
        if call.handset is None:
            return False
        handset = self.queue.handsets[call.handset]
        return handset.phone is not None and handset.leg_line is None

    # --- a leg on a free line (lent to the call: Lines.lent) --------------------------------------

    def on_leg(self, event: object) -> bool:
        """The event is about a line lent to a remote leg, not about a call of that line's own."""
        return isinstance(event, LEG_EVENTS) and self.is_leg(event.line)

    def is_leg(self, line: str) -> bool:
        """A remote operator's phone is dialled (or talks) on this line, for a caller on another."""
        return line in self.lines.lent and any(s.leg_line == line for s in self.queue.handsets.values())

    def leg_event(self, event: object) -> list[object]:
        assert isinstance(event, LEG_EVENTS)
        line = event.line
        call = self.lines.by_id(self.lines.lent[line])
        phone = next((h for h, s in self.queue.handsets.items() if s.leg_line == line), None)
        if call is None or phone is None:  # the caller's call is gone: nothing of the leg is left to keep
            self.lines.give_back(line)
            return [ev.StopAudio(line), ev.HangUp(line)]
        ringing = phone in call.ringing
        match event:
            case ev.DialAnswered() if ringing:
                self.answered.add(line)
                call.log(self.clock.wall(), "WHISPER", handset=phone, detail=call.ringing[phone])
                return [ev.Play(line, whisper_prompt(call.skill), loop=True)]
            case ev.DtmfReceived(digit=digit) if ringing and line in self.answered:
                self.answered.discard(line)
                if digit != ACCEPT_KEY:
                    return self._leg_over(call, phone, f"declined with {digit}", hang_up=True)
                actions = self.queue.lifted(phone, call)
                call.log(self.clock.wall(), "JOINED", handset=phone, detail=f"bridged with free line {line}")
                return actions
            case ev.DialFailed(reason=reason) if ringing:
                return self._leg_over(call, phone, reason, hang_up=False)
            case ev.RemoteHangup() if ringing:
                return self._leg_over(call, phone, "the operator hung up", hang_up=False)
            case ev.LineDown(reason=reason):
                self.lines.state[line], self.lines.reason[line] = "down", reason
                if ringing:
                    return self._leg_over(call, phone, f"line {line} failed: {reason}", hang_up=False)
                if call.handset == phone:  # talking: the caller waits for the next operator
                    return [ev.StopAudio(call.line), *self._rejoin_queue(call, f"line {line} failed: {reason}")]
            case ev.RemoteHangup() if call.handset == phone:
                call.log(self.clock.wall(), "COMPLETEAGENT", handset=phone)
                survey = self._operator_done(call)
                if survey is not None:
                    return [ev.StopAudio(call.line), *survey]  # the bridge ends; the caller is asked the survey
                return [ev.HangUp(call.line), *self._finish(call, "completed", "operator", "operator hung up")]
        return []

    def _leg_over(self, call: Call, phone: str, why: str, *, hang_up: bool) -> list[object]:
        """The leg ended before the operator accepted: the next operator is tried; the caller's music goes on."""
        self.answered.discard(self.queue.handsets[phone].leg_line or "")
        actions = self.queue.stop_one(call, phone, unanswered=True, why=why)
        if not hang_up:  # the leg is gone already: its line needs no hang-up (a failed line could not take one)
            actions = [a for a in actions if not isinstance(a, ev.HangUp)]
        return self._next(call, actions)

    def _next(self, call: Call, actions: list[object]) -> list[object]:
        if not call.ringing:
            self.queue.timers.cancel("ring", call.id)
        return actions + self.queue.dispatch()

    def _rejoin_queue(self, call: Call, reason: str) -> list[object]:
        """The operator accepted but the network would not join them: the caller waits for the next one."""
        call.log(self.clock.wall(), "FAILED", handset=call.handset, detail=reason)
        actions = self.queue.released(call)
        call.handset = call.operator = None
        call.connected_at = call.connected_mono = None
        return actions + self.queue.enqueue(call, call.skill, None)
