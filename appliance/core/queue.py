"""The queue: callers wait in order, operators are chosen by skill and strategy, the first lift wins.

Plain code over the switchboard's handset states and the operators' states;
it returns actions and never reads a clock of its own. Waits run on the monotonic clock, stamps on the wall.
"""

from __future__ import annotations

import math
import random
from collections import deque

from appliance.core.lean import lean

from . import events as ev
from .call import Call, CallbackRequest
from .clock import Clock
from .lines import Lines
from .operators import Operators
from .strategies import DEFAULT_TIERS, SkillTier, StrategyMemory, choose, eligible
from .timers import QUEUE_TIMERS, TimerKind, Timers

RINGBACK = "tone:ringback"  # a prompt name the audio side generates rather than loads


@lean
class HandsetState:
    id: str
    off_hook: bool = False
    ringing_for: str | None = None  # call id
    connected_to: str | None = None  # call id
    phone: str | None = None  # a remote operator's phone: rung by dialling it from the caller's line
    leg_line: str | None = None  # the free line the phone is dialled on (None: the caller's own, or none)

    @property
    def free(self) -> bool:
        # A lifted receiver cannot ring, and a handset already busy must not be offered a second caller.
        return not self.off_hook and self.ringing_for is None and self.connected_to is None

    @property
    def state(self) -> str:
        if self.connected_to:
            return "on call"
        if self.ringing_for:
            return "ringing"
        return "off-hook" if self.off_hook else "idle"


def position_prompt(position: int) -> str:
    """The prompt that tells a waiting caller their place in line (the catalog renders 1..9)."""
    return f"queue.position.{min(position, 9)}"


MAX_WAIT_MINUTES = 15  # the catalog renders "about M minutes" for 1..15; longer waits say 15


def wait_prompt(minutes: int) -> str:
    """The prompt that tells a waiting caller about how long it will be."""
    return f"queue.wait.{max(1, min(minutes, MAX_WAIT_MINUTES))}"


@lean(frozen=True)
class QueueSettings:
    strategy: str = "ringall"
    tiers: tuple[SkillTier, ...] = DEFAULT_TIERS
    announce_every: float = 0.0  # seconds between position announcements; 0 never announces
    hold_prompt: str = RINGBACK  # what a waiting caller hears: ringback, or music on hold
    handover_whisper: bool = False  # a desk taking a handed-over caller hears who first, over a free line (desks.py)


def _held(call: Call) -> float:
    """Until when (monotonic) the entry is not offered to operators: a callback that just failed waits."""
    return call.not_before if isinstance(call, CallbackRequest) else 0.0


class Queue:
    def __init__(
        self,
        handsets: dict[str, HandsetState],
        operators: Operators,
        settings: QueueSettings,
        clock: Clock,
        timers: Timers,
        rng: random.Random | None = None,
        lines: Lines | None = None,
    ) -> None:
        self.handsets = handsets
        self.lines = lines  # a free one is taken to dial a remote operator's phone for their own callback
        self.operators = operators
        self.settings = settings
        self.clock = clock
        self.timers = timers
        self.rng = rng or random.Random()
        self.memory = StrategyMemory()
        self.waiting: list[Call] = []
        self.recent_waits: deque[float] = deque(maxlen=20)  # how long the last callers waited for an operator
        # line -> why remote operators are not rung from it (the SIM or network refused hold or joining calls)
        self.remote_refused: dict[str, str] = {}

    # --- entering and leaving ---------------------------------------------------

    def enqueue(self, call: Call, skill: str | None, max_wait: float | None) -> list[object]:
        """Put a caller (or a callback request, which has no line yet) in line for an operator."""
        now, stamp = self.clock.monotonic(), self.clock.wall()
        call.skill = skill
        call.queued = True
        if call.queued_mono is None:
            call.queued_at, call.queued_mono = stamp, now
        call.log(stamp, "ENTERQUEUE", detail=skill)
        # Priority callers go ahead of everyone who is not; otherwise first come, first served.
        place = len(self.waiting)
        if call.priority:
            place = next((i for i, c in enumerate(self.waiting) if not c.priority), len(self.waiting))
        self.waiting.insert(place, call)
        if isinstance(call, CallbackRequest):
            return self.dispatch()  # nobody is on the line to hear music
        if max_wait is not None:
            self.timers.start("maxwait", call.id, now + max_wait)
        if self.settings.announce_every > 0:
            self.timers.start("announce", call.id, now + self.settings.announce_every)
        return [ev.Play(call.line, self.settings.hold_prompt, loop=True), *self.dispatch()]

    def leave(self, call: Call, event: str, detail: str | None = None) -> list[object]:
        """Take the call out of the queue (hung up, timed out, pressed a key): ringing stops, nobody missed it."""
        actions = self.stop_ringing(call, unanswered=event == "EXITWITHTIMEOUT")
        if call in self.waiting:
            self.waiting.remove(call)
            call.queued = False
            call.log(self.clock.wall(), event, detail=detail)
        self.timers.cancel("maxwait", call.id)
        self.timers.cancel("announce", call.id)
        return actions + self.dispatch()

    def step_out(self, call: Call) -> dict[TimerKind, float]:
        """Take a waiting caller out of line while they are handed on elsewhere (core/moves.py): no desk rings
        for them meanwhile. Returns their queue timers, which `step_back` restores."""
        kept = {kind: at for kind in QUEUE_TIMERS if (at := self.timers.deadline(kind, call.id)) is not None}
        for kind in QUEUE_TIMERS:
            self.timers.cancel(kind, call.id)
        self.waiting.remove(call)
        call.queued = False
        return kept

    def step_back(self, call: Call, ahead: frozenset[str], timers: dict[TimerKind, float]) -> list[object]:
        """The caller returns at their place: behind those who were ahead of them and still wait (and behind
        priority callers, unless one themselves), ahead of everyone who came since; their wait goes on."""
        place = max((i + 1 for i, c in enumerate(self.waiting) if c.id in ahead or (c.priority and not call.priority)),
                    default=0)
        self.waiting.insert(place, call)
        call.queued = True
        for kind, at in timers.items():
            self.timers.start(kind, call.id, at)
        return [ev.Play(call.line, self.settings.hold_prompt, loop=True), *self.dispatch()]

    def position(self, call: Call) -> int:
        return self.waiting.index(call) + 1

    def estimated_minutes(self, call: Call) -> int:
        """Whole minutes until an operator, from how long recent callers waited (a minute each, at first)."""
        typical = sum(self.recent_waits) / len(self.recent_waits) if self.recent_waits else 60.0
        now = self.clock.monotonic()
        waited = now - (call.queued_mono or now)
        return max(1, math.ceil((typical * self.position(call) - waited) / 60))

    # --- choosing and ringing -----------------------------------------------------

    def dispatch(self) -> list[object]:
        """Offer free operators to waiting callers, in queue order."""
        now = self.clock.monotonic()
        actions: list[object] = []
        for call in list(self.waiting):
            if call.ringing or _held(call) > now:
                continue
            busy = {h.id: not h.free for h in self.handsets.values()}
            waited = now - (call.queued_mono if call.queued_mono is not None else now)
            candidates = eligible(self.operators.candidates(busy, now), call.skill, waited, self.settings.tiers)
            if isinstance(call, CallbackRequest) and call.for_operator is not None:
                candidates = [c for c in candidates if c.operator == call.for_operator]
            waves = choose(self.settings.strategy, candidates, memory=self.memory, rng=self.rng,
                           queue=call.skill or "")
            wave = self._reachable(call, waves[0]) if waves else []
            if not wave:
                continue
            ring_for = min(self.operators.get(c.operator).ring_timeout for c in wave)
            for candidate in wave:
                self.operators.ringing(candidate.operator, now)
                self.memory.rung(call.skill or "", candidate.operator)
                handset = self.handsets[candidate.handset]
                handset.ringing_for = call.id
                call.ringing[candidate.handset] = candidate.operator
                if handset.phone is None:
                    actions.append(ev.RingHandset(candidate.handset))
                else:
                    if isinstance(call, CallbackRequest) and self.lines is not None:
                        call.log(self.clock.wall(), "DIALOPERATOR", handset=handset.id, detail=candidate.operator)
                        # their own "call back now": their phone first, from a free line; the caller once they accept
                        actions.append(ev.Dial(self.lines.take(call, self.remote_refused) or "", handset.phone))
                    else:
                        actions += self._dial_remote(call, handset, candidate.operator)
            self.timers.start("ring", call.id, now + ring_for)
        return actions

    def _dial_remote(self, call: Call, handset: HandsetState, operator: str) -> list[object]:
        """Ring a remote operator for a caller: from a free line, the caller staying on the box's music (their
        audio is bridged once the operator accepts), else from the caller's own line with the caller held."""
        leg = self.lines.lend(call) if self.lines is not None else None
        assert handset.phone is not None
        if leg is not None:
            handset.leg_line = leg
            call.log(self.clock.wall(), "DIALOPERATOR", handset=handset.id, detail=f"{operator}, free line {leg}")
            return [ev.Dial(leg, handset.phone)]
        call.log(self.clock.wall(), "DIALOPERATOR", handset=handset.id, detail=f"{operator}, on hold on {call.line}")
        return [ev.StopAudio(call.line), ev.RingRemote(call.line, handset.id, handset.phone)]

    def _reachable(self, call: Call, wave: list) -> list:
        """The wave less the remote phones this call cannot ring: a remote operator is dialled from the caller's
        own line (the caller held), so one at a time, only for a caller on a line whose network lets it hold and
        join calls, never for a callback request (it has no line until an operator takes it)."""
        if isinstance(call, CallbackRequest):  # only their own callback, and only with a line to dial out on
            remote_ok = call.for_operator is not None and self.lines is not None and any(
                c is None and self.lines.state[n] == "up" and n not in self.remote_refused
                for n, c in self.lines.calls.items())
        else:  # a free line to dial from, else the caller's own line, if its network holds and joins calls
            free_line = self.lines is not None and self.lines.lendable(call) is not None
            remote_ok = call.answered_at is not None and (call.line not in self.remote_refused or free_line)
        reachable = []
        for candidate in wave:
            if self.handsets[candidate.handset].phone is not None:
                if not remote_ok:
                    continue
                remote_ok = False  # the line holds one caller and dials one phone
            reachable.append(candidate)
        return reachable

    def ring_timeout(self, call: Call) -> list[object]:
        """Nobody in this wave lifted in time: they count as missed, and the next wave rings."""
        return self.stop_ringing(call, unanswered=True) + self.dispatch()

    def stop_ringing(self, call: Call, *, unanswered: bool) -> list[object]:
        actions: list[object] = []
        for handset_id in sorted(call.ringing):
            actions += self.stop_one(call, handset_id, unanswered=unanswered)
        call.ringing.clear()
        self.timers.cancel("ring", call.id)
        return actions

    def stop_one(self, call: Call, handset_id: str, *, unanswered: bool, why: str | None = None) -> list[object]:
        """One handset (or remote phone) of the wave stops ringing for the call; the rest ring on."""
        operator = call.ringing.pop(handset_id)
        handset = self.handsets[handset_id]
        handset.ringing_for = None
        self.operators.ring_stopped(operator, self.clock.monotonic(), unanswered=unanswered)
        if unanswered:
            call.log(self.clock.wall(), "RINGNOANSWER", handset=handset_id, detail=why or operator)
        if handset.phone is None:
            return [ev.StopRinging(handset_id)]
        if handset.leg_line is not None:  # dialled on a free line: hang it up; the caller heard music throughout
            return self._end_leg(handset)
        if isinstance(call, CallbackRequest):  # the operator's phone, dialled on a line of its own: hang up
            line = call.line
            if self.lines is not None:
                self.lines.release(call)
            call.line = ""
            return [ev.HangUp(line)] if line else []
        # The remote leg hangs up and the caller, taken back off hold, hears the queue's music again.
        return [ev.DropRemote(call.line), ev.StopAudio(call.line),
                ev.Play(call.line, self.settings.hold_prompt, loop=True)]

    # --- lifting and hanging up ------------------------------------------------------

    def lifted(self, handset_id: str, call: Call) -> list[object]:
        """The first lift wins: the loop is single-threaded, so a second lift finds nothing ringing."""
        now, stamp = self.clock.monotonic(), self.clock.wall()
        operator = call.ringing.pop(handset_id)
        self.handsets[handset_id].ringing_for = None
        remote = self.handsets[handset_id].phone is not None
        actions = self.stop_ringing(call, unanswered=False)
        self.operators.answered(operator, now)
        self.waiting.remove(call)
        call.queued = False
        self.timers.cancel("maxwait", call.id)
        self.timers.cancel("announce", call.id)
        self.handsets[handset_id].connected_to = call.id
        call.handset, call.operator = handset_id, operator
        if not remote:
            actions.append(ev.StopRinging(handset_id))
        if isinstance(call, CallbackRequest):
            return actions  # the switchboard dials out and connects once a line is chosen
        call.connected_at, call.connected_mono = stamp, now
        self.recent_waits.append(now - (call.queued_mono or now))
        call.log(stamp, "CONNECT", handset=handset_id, detail=operator)
        leg = self.handsets[handset_id].leg_line
        if leg is not None:  # the operator's phone on a free line: the two lines' audio carried into each other
            actions += [ev.StopAudio(leg), ev.StopAudio(call.line), ev.Bridge(call.line, leg)]
        else:
            join = ev.JoinRemote(call.line) if remote else ev.ConnectAudio(handset_id, call.line)
            actions += [ev.StopAudio(call.line), join]
        return [*actions, ev.CallConnected(call.id, handset_id, operator, stamp)]

    def released(self, call: Call) -> list[object]:
        """The conversation is over: the operator wraps up, the audio relay opens, others may be rung."""
        actions: list[object] = []
        if call.handset is not None:
            handset = self.handsets[call.handset]
            if handset.connected_to == call.id:
                handset.connected_to = None
                if handset.phone is None:  # a remote leg on the caller's own line ends with the line's call
                    actions.append(ev.DisconnectAudio(handset.id))
                elif handset.leg_line is not None:  # one on a free line is hung up
                    actions += self._end_leg(handset)
        if call.operator is not None:
            self.operators.call_ended(call.operator, self.clock.monotonic())
        return actions + self.dispatch()

    def _end_leg(self, handset: HandsetState) -> list[object]:
        """A remote operator's leg on a free line is over: the line is hung up and free again."""
        leg, handset.leg_line = handset.leg_line, None
        if leg is None:
            return []
        if self.lines is not None:
            self.lines.give_back(leg)
        return [ev.StopAudio(leg), ev.HangUp(leg)]

    def next_deadline(self) -> float | None:
        """When an operator becomes free again (wrap-up, retry pause, a shift): worth a dispatch then."""
        if not self.waiting:
            return None
        now = self.clock.monotonic()
        times = [t for o in self.operators for t in (o.wrap_up_until, o.retry_after) if t > now]
        times += [_held(c) for c in self.waiting if _held(c) > now]
        return min(times, default=None)
