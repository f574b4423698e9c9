"""The record a finished call leaves: computed once, by the core, from the moments it saw.

Stamps (`*_at`) are wall-clock epoch seconds; durations come from the monotonic clock, so a clock step
during a call changes neither the wait nor the talk time. The store writes a record as it is.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from appliance.core.lean import lean


@lean(frozen=True)
class CallRecord:
    id: str
    line: str
    caller: str | None
    started_at: float
    answered_at: float | None  # the line picked up (for a callback: the called person did)
    queued_at: float | None  # first waited for an operator
    connected_at: float | None  # an operator took it
    ended_at: float | None
    menu_path: str  # the keys pressed, in order
    nodes: str  # the flow nodes passed, comma-separated
    skill: str | None
    handset: str | None
    operator: str | None
    wait_seconds: float | None  # from queued to connected (or to the end, for a caller nobody took)
    talk_seconds: float | None  # from connected to the operator's or caller's hang-up
    outcome: str | None
    ended_by: str | None
    reason: str | None
    language: str | None
    survey_score: int | None
    priority: bool
    events: tuple[dict[str, Any], ...]  # the queue_log-style timeline
    direction: str  # "inbound", or "callback" for a call the box dialled

    @property
    def abandoned(self) -> bool:
        """The caller hung up while waiting for an operator."""
        return self.outcome == "abandoned"

    def as_dict(self) -> dict[str, Any]:
        """The stored form (what the store, its journal and the heartbeat keep): plain JSON-able values."""
        record = asdict(self)
        record["events"] = [dict(e) for e in self.events]
        return record
