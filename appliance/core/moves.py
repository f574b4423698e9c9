"""Moving a waiting caller to a sibling box where an operator is free (issue 21, docs/fleet.md).

The fleet link (appliance/fleet) hears the siblings' retained statuses and posts them here as `SiblingsHeard`:
each sibling's number, the caller IDs its lines show, and its free operators by skill. A caller who has waited
`after` seconds for an operator, when a sibling has one free with the caller's skill, is taken out of the queue
first (no desk may ring for a caller who is being handed on) and transferred to the sibling's number by the
line's own transfer path. If the transfer fails, or the sibling stops being free before it is done (the
transfer is then called off), the caller goes back into the queue at their place, with their timers.

Before the transfer the box tells the sibling who is coming (`AnnounceMove`, over the broker): the caller's
skill, language and wait, so that box puts them straight in its queue with a short "connecting you" instead of
its menu; a move that fails is withdrawn the same way.

On the receiving box a call whose caller ID is a sibling's own number is a caller moved here: its timeline
says so, and since the caller has waited already, it goes ahead of callers who have not. Matched with that
sibling's announcement (the oldest still fresh), it skips the menu; unmatched, it passes the menu as any caller.

Plain code: the clock is injected and the wake-up time is `next_deadline`, never a polling loop.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable

from appliance.core.lean import lean

from . import events as ev
from .call import Call, CallbackRequest
from .clock import Clock
from .flow import Flow
from .queue import Queue
from .siblings import Sibling
from .timers import TimerKind

RECENT = 20  # moves the fleet page lists
CONNECTING = "fleet.connecting"  # what a caller moved here hears before the queue's music (audio/catalog.py)
# How long a sibling's word that a caller is coming stays good: the transfer's hold, dial and the network's set-up
# take seconds; an announcement this old belongs to a move that never arrived.
FRESH = 60.0

# After a caller is sent to a sibling, that sibling's free operator counts as taken until its status changes
# (its operator is rung for the caller) or this many seconds pass: no second caller is sent for the same one.
SETTLE = 60.0


@lean(eq=False)  # one caller's move: told apart by identity
class Move:
    call: Call
    box: str
    number: str
    ahead: frozenset[str]  # the callers ahead of this one when it left the queue: its place, on return
    timers: dict[TimerKind, float]  # its queue timers (max wait, announcements), restored if it returns
    called_off: str | None = None  # why this box called the transfer off
    landed: bool = False  # the sibling said the caller reached it: its operator now rings for them there


def same_number(a: str, b: str) -> bool:
    """'+79161234567' and '89161234567' are one number: the national part (last ten digits) compared."""
    x, y = re.sub(r"\D", "", a), re.sub(r"\D", "", b)
    return bool(x) and (x == y or (len(x) >= 10 and len(y) >= 10 and x[-10:] == y[-10:]))


class Moves:
    def __init__(self, queue: Queue, clock: Clock, finish: Callable[[Call, str, str, str | None], list[object]],
                 after: float = 0.0) -> None:
        """`after`: seconds a caller waits before being moved; 0 never moves one (a box may still receive)."""
        self.queue = queue
        self.clock = clock
        self._finish = finish
        self.after = after
        self.siblings: dict[str, Sibling] = {}
        self.moving: dict[str, Move] = {}  # call id -> its move in progress
        self.spent: dict[str, tuple[Sibling, float]] = {}  # box -> (its offer when a caller was sent, until)
        # call id -> the boxes a transfer of it failed to (busy, no answer, refused): not tried again for it
        self.refused: dict[str, set[str]] = {}
        # The latest moves, newest last, for the fleet page: {at, way ("out", "back", "in"), box, detail}.
        self.recent: deque[dict[str, object]] = deque(maxlen=RECENT)
        self.fixed: set[str] = set()  # lines that cannot hand a call on (analogue, V.253): their callers stay
        # sibling -> its callers on the way here, oldest first: (announcement, when heard, monotonic)
        self.coming: dict[str, deque[tuple[ev.MoveAnnounced, float]]] = {}

    # --- what the siblings say ------------------------------------------------------------

    def heard(self, event: ev.SiblingsHeard) -> list[object]:
        self.siblings = {s.box: s for s in event.siblings}
        now = self.clock.monotonic()
        self.spent = {box: (seen, until) for box, (seen, until) in self.spent.items()
                      if until > now and self.siblings.get(box) == seen}
        actions: list[object] = []
        for move in self.moving.values():
            if move.called_off is None and not self._still_free(move):
                move.called_off = f"{move.box} has no operator free for the caller any more"
                actions.append(ev.CancelTransfer(move.call.line, move.number, move.called_off))
        return actions

    def _still_free(self, move: Move) -> bool:
        """Whether the sibling still has a free operator for each caller moving to it, this one included; a
        caller that reached it already took theirs (its status counts them busy): the sibling need only be there."""
        sibling = self.siblings.get(move.box)
        if sibling is None or move.landed:
            return sibling is not None and sibling.taking
        going = self._going(move.box)
        return sibling.offers(move.call.skill) >= going.index(move) + 1

    def _going(self, box: str) -> list[Move]:
        """The callers on the way to `box` who still need one of its free operators."""
        return [m for m in self.moving.values() if m.box == box and m.called_off is None and not m.landed]

    def announced(self, event: ev.MoveAnnounced) -> list[object]:
        """A sibling says a caller is on the way here (or no longer is), or that ours reached it."""
        if event.landed:
            move = self.moving.get(event.call_id)
            if move is not None and move.box == event.box and not move.landed:
                move.landed = True
                move.call.log(self.clock.wall(), "LANDED", detail=f"{event.box} has the caller")
            return []
        now = self.clock.monotonic()
        coming = self.coming.setdefault(event.box, deque())
        fresh = [(a, at) for a, at in coming if now - at < FRESH and a.call_id != event.call_id]
        coming.clear()
        coming.extend(fresh)
        if not event.off:
            coming.append((event, now))
        return []

    def line_up(self, event: ev.LineUp) -> None:
        """A line that cannot transfer (an analogue one) is left out of moves up front, not tried and failed."""
        if event.transfers:
            self.fixed.discard(event.line)
        else:
            self.fixed.add(event.line)

    # --- a caller arriving --------------------------------------------------------------------

    def arrived(self, call: Call) -> None:
        """A call whose caller ID is a sibling's number: a caller that box moved here."""
        if call.caller is None or any(e["event"] == "FROM_SIBLING" for e in call.events):
            return
        # Two boxes giving one number (a box replaced, its old status still retained): the one that said a caller
        # is coming is the one that sent this caller.
        for sibling in sorted(self.siblings.values(), key=lambda s: (not self.coming.get(s.box), s.box)):
            if any(same_number(call.caller, number) for number in sibling.numbers):
                call.log(self.clock.wall(), "FROM_SIBLING", detail=sibling.box)
                self._note("in", sibling.box)
                call.priority = True  # waited there already: ahead of the callers who have not
                return

    def take(self, call: Call, flow: Flow) -> list[object]:
        """The call is answered: a caller moved here whose sibling said what they chose goes straight to this
        box's queue for that skill, in their language (`call.moved_route`); any other caller, to the menu. The
        sibling hears that its caller arrived: its status will show the operator rung for them busy."""
        box = next((e["detail"] for e in call.events if e["event"] == "FROM_SIBLING"), None)
        now = self.clock.monotonic()
        coming = [(a, at) for a, at in self.coming.get(box or "", ()) if now - at < FRESH]
        if box is None or not coming:
            return []
        self.coming[box] = deque(coming[1:])
        said = coming[0][0]
        landed: list[object] = [ev.AnnounceMove(box, said.call_id, landed=True)]
        route = next((n.id for n in flow.nodes.values() if n.type == "route" and n.skill == said.skill), None)
        heard = f"{said.skill or 'any skill'}, waited {said.waited:.0f} s"
        if said.language:
            heard += f", {said.language}"
        note = next((n for n in reversed(self.recent) if n["way"] == "in" and n["box"] == box), None)
        if note is not None:  # the fleet page's list (memory only): the masked number, if that box shares it
            note["detail"] = f"{heard}, {said.caller}" if said.caller else heard
        heard += f" ({box}'s call {said.call_id})"  # the two boxes' records of one caller name each other
        if route is None:  # this box's flow routes nobody by that skill: its menu asks again
            call.log(self.clock.wall(), "MOVED_IN", detail=f"{heard}: no queue here for it, menu")
            return landed
        call.language = said.language or call.language
        call.moved_route = route
        call.log(self.clock.wall(), "MOVED_IN", detail=heard)
        return landed

    # --- moving callers out ------------------------------------------------------------------

    def check(self) -> list[object]:
        """Move each waiting caller who is due to a sibling with an operator free for them."""
        if not self.after or not self.siblings:
            return []
        now = self.clock.monotonic()
        actions: list[object] = []
        for call in list(self.queue.waiting):
            if not self._due(call, now):
                continue
            sibling = self._choose(call, now)
            if sibling is not None:
                actions += self._start(call, sibling)
        return actions

    def _due(self, call: Call, now: float) -> bool:
        return (not isinstance(call, CallbackRequest) and call.answered_at is not None and not call.ringing
                and call.id not in self.moving and call.queued_mono is not None
                and now - call.queued_mono >= self.after and call.line not in self.queue.remote_refused
                and call.line not in self.fixed
                and not any(e["event"] == "FROM_SIBLING" for e in call.events))  # never sent on twice

    def _choose(self, call: Call, now: float) -> Sibling | None:
        best, most = None, 0
        for box, sibling in sorted(self.siblings.items()):
            if box in self.refused.get(call.id, ()):
                continue
            free = sibling.offers(call.skill) - len(self._going(box)) - (1 if box in self.spent else 0)
            if free > most:
                best, most = sibling, free
        return best

    def _start(self, call: Call, sibling: Sibling) -> list[object]:
        number = sibling.numbers[0]
        ahead = frozenset(c.id for c in self.queue.waiting[:self.queue.waiting.index(call)])
        timers = self.queue.step_out(call)
        self.moving[call.id] = Move(call, sibling.box, number, ahead, timers)
        call.moving_to = sibling.box
        call.log(self.clock.wall(), "MOVE", detail=f"to {sibling.box} ({number})")
        waited = round(self.clock.monotonic() - (call.queued_mono or self.clock.monotonic()), 1)
        return [ev.AnnounceMove(sibling.box, call.id, call.skill, call.language, waited, call.caller),
                ev.StopAudio(call.line), ev.Transfer(call.line, number)]

    def is_moving(self, call: Call) -> bool:
        return call.id in self.moving

    def result(self, call: Call, event: ev.TransferResult) -> list[object]:
        """The line's transfer ended: the caller is the sibling's now, or back in this queue at their place."""
        move = self.moving.pop(call.id)
        call.moving_to = None
        sibling = self.siblings.get(move.box)
        if sibling is not None:  # taken (or refused us): not offered again until its status changes
            self.spent[move.box] = (sibling, self.clock.monotonic() + SETTLE)
        if event.ok:  # joined: the caller is the sibling's now, even if this box called it off too late
            late = f": joined before the call-off ({move.called_off})" if move.called_off else ""
            call.log(self.clock.wall(), "MOVED", detail=move.box + late)
            self._note("out", move.box)
            why = f"moved to {move.box}: " + ("joined before the call-off took effect: the caller is theirs" if late
                                              else "an operator was free there")
            return self._finish(call, "transferred", "system", why)
        why = move.called_off or event.reason or "the transfer failed"
        if move.called_off is None:  # not the sibling's change of heart: that number did not take the caller
            self.refused.setdefault(call.id, set()).add(move.box)
        call.log(self.clock.wall(), "FAILED", detail=f"move to {move.box}: {why}")
        self._note("back", move.box, why)
        return [ev.AnnounceMove(move.box, call.id, off=True), *self.queue.step_back(call, move.ahead, move.timers)]

    def _note(self, way: str, box: str, detail: str | None = None) -> None:
        self.recent.append({"at": self.clock.wall(), "way": way, "box": box, "detail": detail})

    def summary(self) -> dict[str, object]:
        """For the fleet page: the setting, the callers being moved now, the lines whose callers stay (analogue),
        the latest moves (newest first)."""
        return {"after": self.after, "moving": sorted(m.box for m in self.moving.values()),
                "fixed": sorted(self.fixed),
                "recent": list(reversed(self.recent))}

    def forget(self, call: Call) -> list[object]:
        """The call ended some other way (the caller hung up mid-transfer): the sibling expects them no more."""
        move = self.moving.pop(call.id, None)
        self.refused.pop(call.id, None)
        call.moving_to = None
        return [ev.AnnounceMove(move.box, call.id, off=True)] if move is not None else []

    def next_deadline(self) -> float | None:
        """When the next waiting caller becomes due to be moved (only while a sibling offers an operator)."""
        if not self.after or not any(s.offers(None) or s.free_skills for s in self.siblings.values()):
            return None
        now = self.clock.monotonic()
        times = [c.queued_mono + self.after for c in self.queue.waiting
                 if c.queued_mono is not None and c.queued_mono + self.after > now and c.id not in self.moving
                 and c.line not in self.fixed]
        times += [until for _, until in self.spent.values() if until > now]
        return min(times, default=None)
