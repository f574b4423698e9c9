"""One call as the core tracks it, and the record it leaves behind."""

from __future__ import annotations

import os
from dataclasses import field
from typing import ClassVar

from appliance.core.lean import lean

from .record import CallRecord


def new_id() -> str:
    """A call's (or a callback request's) id: 128 random bits as 32 hex digits, the shape `uuid4().hex` gave,
    without the uuid module and the platform module it loads (~0.2 MB of the daemon's memory for the months it
    runs; docs/proof.md). Ids are opaque: nothing reads a version out of them."""
    return os.urandom(16).hex()


@lean
class Call:
    direction: ClassVar[str] = "inbound"
    id: str
    line: str
    caller: str | None
    # Stamps (`*_at`) are wall-clock epoch seconds for the record; durations come from the monotonic
    # moments (`*_mono`), so a wall-clock step during a call changes no wait or talk time.
    started_at: float
    started_mono: float = 0.0
    answered_at: float | None = None
    queued_at: float | None = None  # when it first waited for an operator
    queued_mono: float | None = None
    connected_at: float | None = None
    connected_mono: float | None = None
    released_at: float | None = None  # monotonic: the operator hung up but the caller stayed (for the survey)
    ended_at: float | None = None
    ended_mono: float | None = None
    node: str | None = None
    path: list[str] = field(default_factory=list)  # the keys the caller pressed, in order
    nodes: list[str] = field(default_factory=list)  # the flow nodes the call went through
    skill: str | None = None
    handset: str | None = None
    operator: str | None = None
    ringing: dict[str, str] = field(default_factory=dict)  # handset -> operator, ringing for this call now
    # other desks in the call (a three-way handover, a supervisor barging in): handset -> operator (None: supervisor)
    extra: dict[str, str | None] = field(default_factory=dict)
    handed_by: str | None = None  # the operator handing this caller to the desk ringing for it now
    retries: int = 0
    after_hours: bool = False
    priority: bool = False
    queued: bool = False  # waiting in the queue now
    blocked: bool = False
    transfer_to: str | None = None  # an operator asked to hand the caller on to this number
    moving_to: str | None = None  # the sibling box the caller is being moved to now (core/moves.py)
    moved_route: str | None = None  # moved here by a sibling that said what they chose: this route, not the menu
    language: str | None = None
    typeahead: list[str] = field(default_factory=list)  # keys pressed over a prompt, kept for the next menu
    digits: str = ""  # a collect node's digits so far
    collected: dict[str, str] = field(default_factory=dict)
    announced: bool = False  # heard the emergency announcement
    playing: str | None = None  # the prompt the core last asked for, to know what a PromptFinished ends
    survey_score: int | None = None
    voicemail: bool = False
    speech: str | None = None  # at a speak node: "asking", "listening", "recognising" or "keys" (nodes.Speak)
    events: list[dict] = field(default_factory=list)  # the queue_log-style timeline
    outcome: str | None = None
    ended_by: str | None = None
    reason: str | None = None

    def log(self, at: float, event: str, *, handset: str | None = None, detail: str | None = None) -> None:
        self.events.append({"at": at, "event": event, "handset": handset, "detail": detail})

    def record(self) -> CallRecord:
        """The finished call's record; a call still going gives its record so far (the heartbeat's copy)."""
        end = self.ended_mono if self.ended_mono is not None else self.started_mono
        wait = None
        if self.queued_mono is not None:
            wait = round((self.connected_mono or end) - self.queued_mono, 3)
        talk = None
        if self.connected_mono is not None:
            talk = round((self.released_at or end) - self.connected_mono, 3)
        return CallRecord(
            id=self.id, line=self.line, caller=self.caller, started_at=self.started_at,
            answered_at=self.answered_at, queued_at=self.queued_at, connected_at=self.connected_at,
            ended_at=self.ended_at, menu_path="".join(self.path), nodes=",".join(self.nodes), skill=self.skill,
            handset=self.handset, operator=self.operator, wait_seconds=wait, talk_seconds=talk,
            outcome=self.outcome, ended_by=self.ended_by, reason=self.reason, language=self.language,
            survey_score=self.survey_score, priority=self.priority, events=tuple(dict(e) for e in self.events),
            direction=self.direction,
        )

    def restamp(self, delta: float) -> None:
        """Move every wall-clock stamp by `delta` seconds: they were made before the time was set."""
        self.started_at += delta
        for name in ("answered_at", "queued_at", "connected_at", "ended_at"):
            if getattr(self, name) is not None:
                setattr(self, name, getattr(self, name) + delta)
        for entry in self.events:
            entry["at"] += delta

    def live(self, now: float) -> dict:
        """What the status page shows of a call in progress (`now` on the monotonic clock)."""
        state = "connected" if self.connected_at else "ringing operators" if self.ringing else (
            "waiting" if self.queued else "in menu")
        if self.released_at is not None:
            state = "in menu"  # the operator is done; the caller answers the survey
        if self.moving_to is not None:
            state = "moving"
        if self.answered_at is None:
            state = "answering"
        return {
            "id": self.id,
            "line": self.line,
            "caller": self.caller,
            "state": state,
            "node": self.node,
            "menu_path": "".join(self.path),
            "handset": self.handset,
            "ringing": sorted(self.ringing),  # the handsets ringing for it now, so their console shows it at once
            "handed_by": self.handed_by,
            "with": sorted(self.extra),  # the other desks in it
            "prompt": self.playing,
            "seconds": round(now - self.started_mono, 1),
        }


@lean(kw_only=True)
class CallbackRequest(Call):
    """A caller asked to be called back: it waits in the queue like a caller (with no line yet), and once an
    operator lifts, the box dials `number` on a free line and it becomes that line's outbound call."""

    direction: ClassVar[str] = "callback"
    number: str
    attempts: int = 0  # dial-outs so far
    not_before: float = 0.0  # monotonic: after a failed attempt it is not offered to operators before then
    for_operator: str | None = None  # "call back now" from this operator's console: only their desk rings
