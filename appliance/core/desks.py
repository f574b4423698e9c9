"""The desks: receivers lifted and put down, presence switches, a caller handed from one desk to another (warm
transfer) and a supervisor joining a call (barge, listen).

A lifted receiver takes the call ringing it (from the queue, a callback, or a handover); a receiver put down
ends the operator's part in the call: the whole call, or only that desk's when several are on it.
Handovers and barges ride on the line's audio bus: every handset has an audio relay per line, so closing a second
handset's relay on a line makes a three-way call. A handover puts the caller on the queue's music, rings the target
desk (its console shows who is coming and from whom) and, on lift, connects the target; the first operator either
stays in a three-way introduction or has already put the receiver down. A supervisor with the receiver lifted joins
a connected call (barge) or, with a handset wired for it, listens with their microphone cut.

With `[queue] handover_whisper`, the desk taking a handed-over caller first hears who is coming ("A colleague is
handing you a caller, legal"), spoken into its handset alone: its audio relay closes on a free line's audio bus
(one with a sound card on the modem's pins and no call), whose card plays the whisper; when it has been said the
relay moves to the caller's line (break before make). Without such a free line the console says it, as before.
"""

from __future__ import annotations

import logging
import random

from appliance.core.lean import lean

from . import events as ev
from .call import Call, CallbackRequest
from .callbacks import Callbacks
from .clock import Clock
from .ivr import EndCall, Ivr
from .lines import Lines
from .queue import Queue
from .strategies import choose, eligible

log = logging.getLogger(__name__)


def handover_prompt(skill: str | None) -> str:
    """What a desk taking a handed-over caller hears first, per skill (the catalog renders one for every skill)."""
    return f"handover.{skill}" if skill else "handover"


@lean
class Whisper:
    """A handover being told to the desk that took it, on a free line's audio bus."""

    call_id: str
    handset: str
    joins: list[object]  # the audio switched once it has been said: the caller (and a staying colleague) joined


@lean
class Handover:
    """A caller on hold music while another desk rings for them."""

    from_handset: str | None  # None once the first operator has put the receiver down
    from_operator: str | None
    stay: bool  # the first operator stays for a three-way introduction


class Desks:
    def __init__(self, *, queue: Queue, lines: Lines, callbacks: Callbacks, ivr: Ivr, clock: Clock, end: EndCall,
                 presence: dict[str, str], rng: random.Random | None = None) -> None:
        self.queue = queue
        self.lines = lines
        self.callbacks = callbacks
        self.ivr = ivr  # a caller may stay on for the survey once the operator is done
        self.clock = clock
        self.end = end
        self.presence = presence  # handset -> the operator its presence switch logs in and out
        self.rng = rng or random.Random()
        self.handovers: dict[str, Handover] = {}  # call id -> the handover in progress
        # The spoken handover whisper's wiring (set from the config): each handset's lines with an audio relay, and
        # the lines whose sound card plays onto their audio bus (a modem's analogue pins, not a USB voice port).
        self.audio_lines: dict[str, set[str]] = {}
        self.bus_lines: set[str] = set()
        self.whispers: dict[str, Whisper] = {}  # free line -> the handover being told on it
        self.listening: set[str] = set()  # handsets joined listen-only (their microphone relay cut)

    # --- receivers and presence switches -------------------------------------------------

    def hook_off(self, event: ev.HookOff) -> list[object]:
        handset = self.queue.handsets.get(event.handset)
        if handset is None:
            return []
        handset.off_hook = True
        call = self.lines.by_id(handset.ringing_for) or self.callbacks.by_id(handset.ringing_for)
        if call is None:
            return []
        if self.handing_over(call):
            return self.lifted(handset.id, call)
        actions = self.queue.lifted(handset.id, call)
        if isinstance(call, CallbackRequest):
            actions += self.callbacks.dial(call)
        return actions

    def hook_on(self, event: ev.HookOn) -> list[object]:
        handset = self.queue.handsets.get(event.handset)
        if handset is None:
            return []
        handset.off_hook = False
        call = self.lines.by_id(handset.connected_to)
        if call is None:
            return self.queue.dispatch()  # a receiver back on its cradle may be rung again
        return self._whisper_cut(handset.id) + self._put_down_call(handset.id, call)

    def _put_down_call(self, handset: str, call: Call) -> list[object]:
        if isinstance(call, CallbackRequest) and call.connected_at is None:
            return self.callbacks.operator_gave_up(call)
        left = self.put_down(handset, call)
        if left is not None:
            return left  # one of several desks on the call left; the call goes on
        call.log(self.clock.wall(), "COMPLETEAGENT", handset=handset)
        survey = self.ivr.operator_done(call)
        if survey is not None:
            return survey  # the operator is done; the caller stays for the survey question
        return [ev.HangUp(call.line), *self.end(call, "completed", "operator", "operator hung up")]

    def presence_changed(self, event: ev.PresenceChanged) -> list[object]:
        name = self.presence.get(event.handset)
        if name is None:
            return []
        now = self.clock.wall()  # a login by hand outranks the roster until its next shift change
        try:
            if event.present:
                self.queue.operators.login(name, event.handset, now)
            else:
                self.queue.operators.logout(name, now)
        except ValueError as exc:  # leaving mid-call: the call goes on, and the switch is read again next time
            log.warning("presence switch at %s: %s", event.handset, exc)
            return []
        return self.queue.dispatch()

    # --- handing over ------------------------------------------------------------------

    def hand_over(self, call: Call, *, to_handset: str | None = None, skill: str | None = None,
                  stay: bool = False) -> list[object]:
        """Ring another desk for a connected caller: a named handset, or someone with `skill` by the queue's
        strategy. The caller hears the queue's music meanwhile; the first operator's receiver is cut off."""
        if call.connected_at is None or call.handset is None or call.released_at is not None:
            raise ValueError("only a caller connected to a desk can be handed over")
        if call.id in self.handovers or call.ringing:
            raise ValueError("this caller is being handed over already")
        if self.queue.handsets[call.handset].phone is not None:
            raise ValueError("a caller on a remote operator's phone cannot be handed over from the box")
        target, operator = self._target(call, to_handset, skill)
        now, stamp = self.clock.monotonic(), self.clock.wall()
        first = call.handset
        self.handovers[call.id] = Handover(first, call.operator, stay)
        call.handed_by = call.operator
        self.queue.operators.ringing(operator, now)
        self.queue.handsets[target].ringing_for = call.id
        call.ringing[target] = operator
        call.log(stamp, "HANDOVER", handset=target, detail=f"{call.operator} to {operator}")
        self.queue.timers.start("ring", call.id, now + self.queue.operators.get(operator).ring_timeout)
        return [ev.DisconnectAudio(first), ev.StopAudio(call.line),
                ev.Play(call.line, self.queue.settings.hold_prompt, loop=True), ev.RingHandset(target)]

    def _target(self, call: Call, handset: str | None, skill: str | None) -> tuple[str, str]:
        now = self.clock.monotonic()
        busy = {h.id: not h.free or h.phone is not None for h in self.queue.handsets.values()}
        candidates = [c for c in self.queue.operators.candidates(busy, now) if c.handset != call.handset]
        if handset is not None:
            found = next((c for c in candidates if c.handset == handset), None)
            if found is None:
                raise ValueError(f"nobody is free at handset {handset!r} to take the caller")
            return found.handset, found.operator
        wanted = eligible(candidates, skill, 0.0, ())
        waves = choose(self.queue.settings.strategy, wanted, memory=self.queue.memory, rng=self.rng,
                       queue=skill or "")
        if not waves:
            raise ValueError(f"nobody with the skill {skill!r} is free to take the caller")
        return waves[0][0].handset, waves[0][0].operator

    def handing_over(self, call: Call) -> bool:
        return call.id in self.handovers

    def lifted(self, handset: str, call: Call) -> list[object]:
        """The target desk answered: the caller is theirs; the first operator stays (three-way) or is done."""
        handover = self.handovers.pop(call.id)
        call.handed_by = None
        now, stamp = self.clock.monotonic(), self.clock.wall()
        operator = call.ringing.pop(handset)
        self.queue.timers.cancel("ring", call.id)
        self.queue.handsets[handset].ringing_for = None
        self.queue.handsets[handset].connected_to = call.id
        self.queue.operators.answered(operator, now)
        actions: list[object] = [ev.StopRinging(handset), ev.StopAudio(call.line), ev.ConnectAudio(handset, call.line)]
        first = handover.from_handset
        if first is not None and handover.stay:
            call.extra[first] = handover.from_operator  # still in the call, on the same line's audio bus
            actions.append(ev.ConnectAudio(first, call.line))
        elif first is not None:
            actions += self._release(first, handover.from_operator)
        call.handset, call.operator = handset, operator
        call.log(stamp, "CONNECT", handset=handset, detail=operator)
        line = self._whisper_line(handset, call)
        if line is not None:  # the caller's music and the colleague's relay wait until the desk has heard who
            joins: list[object] = [a for a in actions if isinstance(a, ev.StopAudio | ev.ConnectAudio)]
            self.whispers[line] = Whisper(call.id, handset, joins)
            self.lines.lent[line] = call.id
            call.log(stamp, "WHISPER", handset=handset, detail=f"spoken on line {line}")
            actions = [a for a in actions if a not in joins] + [
                ev.ConnectAudio(handset, line), ev.Play(line, handover_prompt(call.skill))]
        return [*actions, ev.CallConnected(call.id, handset, operator, stamp)]

    # --- the spoken handover whisper -------------------------------------------------------------

    def _whisper_line(self, handset: str, call: Call) -> str | None:
        if not self.queue.settings.handover_whisper:
            return None
        return next((line for line in sorted(self.audio_lines.get(handset, ())) if line in self.bus_lines
                     and line != call.line and self.lines.is_free(line)), None)

    def on_whisper(self, event: object) -> bool:
        """The whisper's line said it (or failed): the desk joins the caller now."""
        return isinstance(event, ev.PromptFinished | ev.LineDown) and event.line in self.whispers

    def whisper_event(self, event: object) -> list[object]:
        assert isinstance(event, ev.PromptFinished | ev.LineDown)
        whisper = self.whispers.pop(event.line)
        self.lines.give_back(event.line)
        if isinstance(event, ev.LineDown):
            self.lines.state[event.line], self.lines.reason[event.line] = "down", event.reason
        call = self.lines.by_id(whisper.call_id)
        if call is None or call.handset != whisper.handset:
            return [ev.StopAudio(event.line)]
        return [ev.StopAudio(event.line), *whisper.joins]

    def _whisper_cut(self, handset: str) -> list[object]:
        """The desk put the receiver down while it heard the whisper: the line is free again."""
        for line, whisper in list(self.whispers.items()):
            if whisper.handset == handset:
                del self.whispers[line]
                self.lines.give_back(line)
                return [ev.StopAudio(line)]
        return []

    def ring_timeout(self, call: Call) -> list[object]:
        """Nobody took the caller: back to the first operator, or, gone meanwhile, to the queue."""
        handover = self.handovers.pop(call.id)
        call.handed_by = None
        actions = self.queue.stop_ringing(call, unanswered=True)
        if handover.from_handset is not None:
            call.log(self.clock.wall(), "FAILED", handset=handover.from_handset, detail="handover: no answer")
            return [*actions, ev.StopAudio(call.line), ev.ConnectAudio(handover.from_handset, call.line)]
        call.handset = call.operator = None
        return actions + self.queue.enqueue(call, call.skill, None)

    # --- people leaving and joining ----------------------------------------------------------

    def put_down(self, handset: str, call: Call) -> list[object] | None:
        """A receiver went down on a call with several desks: only that desk leaves (None: not such a case)."""
        handover = self.handovers.get(call.id)
        if handover is not None and handover.from_handset == handset:
            operator, handover.from_handset = handover.from_operator, None  # handed over and dropped
            self.queue.handsets[handset].connected_to = None
            call.handset = None
            return self._release_operator(operator)
        if handset in call.extra:
            return self._release(handset, call.extra.pop(handset))
        if handset == call.handset and call.extra:
            # The desk the caller is on leaves a three-way call: the one still there takes the caller.
            actions = self._release(handset, call.operator)
            call.handset, call.operator = call.extra.popitem()
            return actions
        return None

    def barge(self, call: Call, handset: str, *, listen_only: bool = False) -> list[object]:
        """A supervisor with the receiver lifted joins a connected call: heard by both (barge) or not (listen)."""
        state = self.queue.handsets.get(handset)
        if state is None or state.phone is not None:
            raise ValueError(f"no desk handset {handset!r}")
        if call.connected_at is None or call.released_at is not None:
            raise ValueError("only a call connected to an operator can be joined")
        if not state.off_hook or state.ringing_for is not None or state.connected_to is not None:
            raise ValueError(f"lift the receiver of {handset} first (and have no call on it)")
        state.connected_to = call.id
        call.extra[handset] = None  # a supervisor, not the call's operator
        call.log(self.clock.wall(), "LISTEN" if listen_only else "BARGE", handset=handset)
        actions: list[object] = []
        if listen_only:
            self.listening.add(handset)
            actions.append(ev.MuteHandset(handset, True))  # before the audio relay: never a word heard
        return [*actions, ev.ConnectAudio(handset, call.line)]

    def finished(self, call: Call) -> list[object]:
        """The call ended: a desk still ringing for a handover stops, everyone else in it is released."""
        actions: list[object] = []
        for line, whisper in list(self.whispers.items()):
            if whisper.call_id == call.id:  # gone while the desk heard who was coming
                del self.whispers[line]
                self.lines.give_back(line)
                actions.append(ev.StopAudio(line))
        if self.handovers.pop(call.id, None) is not None and call.ringing:
            actions += self.queue.stop_ringing(call, unanswered=False)
        for handset, operator in list(call.extra.items()):
            actions += self._release(handset, operator)
        call.extra.clear()
        return actions

    def _release(self, handset: str, operator: str | None) -> list[object]:
        state = self.queue.handsets[handset]
        state.connected_to = None
        actions: list[object] = [ev.DisconnectAudio(handset)]
        if handset in self.listening:
            self.listening.discard(handset)
            actions.append(ev.MuteHandset(handset, False))
        return actions + self._release_operator(operator)

    def _release_operator(self, operator: str | None) -> list[object]:
        if operator is not None:
            self.queue.operators.call_ended(operator, self.clock.monotonic())
        return self.queue.dispatch()
