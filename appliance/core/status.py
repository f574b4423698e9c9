"""What the supervisor's page shows of the core: lines, handsets, operators (and since when), calls and the queue."""

from __future__ import annotations

from .call import CallbackRequest
from .clock import Clock
from .ivr import Ivr
from .lines import Lines
from .operators import Operators, State
from .plan import CallPlan
from .queue import HandsetState, Queue


class StatusView:
    def __init__(self, plan: CallPlan, lines: Lines, handsets: dict[str, HandsetState], operators: Operators,
                 queue: Queue, ivr: Ivr, clock: Clock) -> None:
        self.plan = plan
        self.lines = lines
        self.handsets = handsets
        self.operators = operators
        self.queue = queue
        self.ivr = ivr
        self.clock = clock
        self._since: dict[str, tuple[State, float]] = {}  # operator -> (state, wall time they entered it)

    def note_operator_states(self) -> None:
        """When each operator entered their present state, for "on call for 4 min" on the supervisor's page."""
        now = self.clock.wall()
        for operator in self.operators:
            seen = self._since.get(operator.name)
            if seen is None or seen[0] != operator.state:
                self._since[operator.name] = (operator.state, now)

    def restamp(self, delta: float) -> None:
        self._since = {name: (state, at + delta) for name, (state, at) in self._since.items()}

    def status(self) -> dict:
        now = self.clock.monotonic()
        self.note_operator_states()  # control commands (login, pause) change states outside handle()
        schedule = self.plan.schedule
        return {
            "lines": [
                {"id": line, "state": self.lines.state[line], "reason": self.lines.reason[line],
                 "call": call.id if call else None, "remote_refused": self.queue.remote_refused.get(line),
                 "lent_to": self.lines.lent.get(line)}  # the call whose remote operator (or desk whisper) uses it
                for line, call in self.lines.calls.items()
            ],
            "handsets": [self._handset(h) for h in self.handsets.values()],
            "operators": [
                {"name": o.name, "state": o.state.value, "handset": o.handset, "pause_reason": o.pause_reason,
                 "calls_taken": o.calls_taken, "since": self._since[o.name][1]}
                for o in self.operators
            ],
            "calls": [call.live(now) for call in self.lines.live()],
            "waiting": [{"call": c.id, "position": i + 1, "callback": isinstance(c, CallbackRequest),
                         "seconds": round(now - (c.queued_mono or now), 1)}
                        for i, c in enumerate(self.queue.waiting)],
            "announcement": self.plan.announcement,
            "schedule": {"open": self.ivr.is_open(),
                         "override": schedule.forced(self.clock.wall() if self.clock.synced() else None),
                         "override_until": schedule.override_until,
                         "time_known": self.clock.synced()},
        }

    def _handset(self, handset: HandsetState) -> dict:
        operator = self.operators.at_handset(handset.id)
        return {"id": handset.id, "state": handset.state, "remote": handset.phone is not None,
                "operator": operator.name if operator else None,
                "operator_state": operator.state.value if operator else None,
                "skills": sorted(operator.skills) if operator else []}
