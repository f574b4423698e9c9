"""Operators are people: they log in at a handset, take calls, wrap up, pause, and work shifts.

Plain synchronous code: every method that depends on time takes `now` and never reads a clock, so tests
drive it with a fake one. Waits (wrap-up, retry pause) take monotonic seconds; the roster, logins and
logouts take wall-clock epoch seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.core.lean import lean
from appliance.core.strategies import Candidate

PHONE_PREFIX = "phone:"  # a remote operator's phone stands in the queue as the handset "phone:<name>"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


class State(StrEnum):
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    LOGGED_OUT = "logged_out"


@lean
class Operator:
    """A person and their settings; the live fields below them are kept by `Operators`."""

    name: str
    skills: Mapping[str, int] = field(default_factory=dict)  # skill -> level
    ring_timeout: float = 20.0  # seconds their handset rings before the router moves on
    wrap_up: float = 10.0  # seconds after a call before they are rung again
    retry_pause: float = 5.0  # seconds after an unanswered ring before they are rung again
    max_missed: int = 3  # unanswered rings in a row that pause them; 0 never pauses
    weight: int = 1
    phone: str | None = None  # a remote operator's own phone: the box dials it (core/remote.py)
    state: State = State.LOGGED_OUT
    handset: str | None = None
    pause_reason: str | None = None
    wrap_up_until: float = 0.0
    retry_after: float = 0.0
    missed_in_row: int = 0
    calls_taken: int = 0
    last_call_end: float | None = None
    override_until: float | None = None  # a manual login/logout outranks the roster until then
    overridden: bool = False


@lean(frozen=True)
class Shift:
    """`operator` is on duty at `handset` on `days` (0 = Monday) from `start` to `end`, local time.

    An end at or before the start runs past midnight into the next day.
    """

    operator: str
    handset: str
    days: frozenset[int]
    start: time
    end: time

    def occurrences(self, around: float, tz: ZoneInfo) -> Iterable[tuple[float, float]]:
        """(start, end) epoch seconds of this shift from the day before `around` to a week after."""
        today = datetime.fromtimestamp(around, tz).date()
        for offset in range(-1, 8):
            day: date = today + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            start = datetime.combine(day, self.start, tzinfo=tz)
            end_day = day if self.end > self.start else day + timedelta(days=1)
            yield start.timestamp(), datetime.combine(end_day, self.end, tzinfo=tz).timestamp()


@lean(frozen=True)
class Change:
    """What changed for one operator, for the log and the live view."""

    operator: str
    state: State
    handset: str | None
    why: str


class Roster:
    """Shifts in one timezone: who should be logged in at which handset at a given moment."""

    def __init__(self, shifts: Sequence[Shift], timezone: str) -> None:
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"roster timezone {timezone!r} is not a known timezone") from error
        self.shifts = tuple(shifts)

    @classmethod
    def from_config(cls, entries: Sequence[Mapping[str, object]], timezone: str) -> Roster:
        """Entries like {operator = "Anna", handset = "h1", days = "mon-fri", hours = "09:00-17:00"}."""
        return cls([_shift_from(entry, index) for index, entry in enumerate(entries)], timezone)

    def duty(self, operator: str, now: float) -> tuple[str, float] | None:
        """(handset, shift end) when `operator` is on duty at `now`."""
        for shift in self.shifts:
            if shift.operator == operator:
                for start, end in shift.occurrences(now, self.tz):
                    if start <= now < end:
                        return shift.handset, end
        return None

    def next_change(self, operator: str, now: float) -> float | None:
        """The next start or end of one of `operator`'s shifts after `now`; None without shifts."""
        times = [
            t
            for shift in self.shifts
            if shift.operator == operator
            for occurrence in shift.occurrences(now, self.tz)
            for t in occurrence
            if t > now
        ]
        return min(times, default=None)


class Operators:
    """Every operator's state; the router asks it who may be rung and tells it what happened."""

    def __init__(self, operators: Iterable[Operator], roster: Roster | None = None) -> None:
        self._by_name: dict[str, Operator] = {}
        for operator in operators:
            if operator.name in self._by_name:
                raise ValueError(f"operator {operator.name!r} is listed twice")
            self._by_name[operator.name] = operator
        self.roster = roster
        for shift in roster.shifts if roster else ():
            if shift.operator not in self._by_name:
                raise ValueError(f"the roster has a shift for {shift.operator!r}, who is not an operator")

    def get(self, name: str) -> Operator:
        try:
            return self._by_name[name]
        except KeyError:
            raise ValueError(f"no operator called {name!r}") from None

    def __iter__(self):
        return iter(self._by_name.values())

    def at_handset(self, handset: str) -> Operator | None:
        return next((o for o in self if o.handset == handset and o.state != State.LOGGED_OUT), None)

    # --- logging in and out -------------------------------------------------------

    def login(self, name: str, handset: str, now: float, *, manual: bool = True) -> Change:
        """Log `name` in at `handset`; a manual login outranks the roster until the shift ends."""
        operator = self.get(name)
        if handset.startswith(PHONE_PREFIX) and (operator.phone is None or handset != PHONE_PREFIX + name):
            raise ValueError(f"handset {handset!r} is not {name!r}'s own phone")
        other = self.at_handset(handset)
        if other is not None and other is not operator:
            raise ValueError(f"handset {handset!r} already has {other.name!r} logged in")
        if operator.state in (State.RINGING, State.ON_CALL) and operator.handset != handset:
            raise ValueError(f"operator {name!r} is {operator.state.value} at {operator.handset!r}")
        if manual:
            self._override(operator, now)
        if operator.state == State.LOGGED_OUT:
            operator.state = State.AVAILABLE
            operator.missed_in_row = 0
        operator.handset = handset
        return Change(name, operator.state, handset, "manual login" if manual else "shift started")

    def logout(self, name: str, now: float, *, manual: bool = True) -> Change:
        operator = self.get(name)
        if operator.state in (State.RINGING, State.ON_CALL):
            raise ValueError(f"operator {name!r} is {operator.state.value}: log out after the call")
        if manual:
            self._override(operator, now)
        operator.state, operator.handset, operator.pause_reason = State.LOGGED_OUT, None, None
        return Change(name, State.LOGGED_OUT, None, "manual logout" if manual else "shift ended")

    def _override(self, operator: Operator, now: float) -> None:
        operator.overridden = True
        operator.override_until = self.roster.next_change(operator.name, now) if self.roster else None

    def pause(self, name: str, reason: str) -> Change:
        operator = self.get(name)
        if operator.state == State.LOGGED_OUT:
            raise ValueError(f"operator {name!r} is logged out and cannot pause")
        if not reason:
            raise ValueError("a pause needs a reason")
        if operator.state not in (State.RINGING, State.ON_CALL):
            operator.state = State.PAUSED
        operator.pause_reason = reason  # a pause asked for during a call starts when the call ends
        return Change(name, operator.state, operator.handset, f"paused: {reason}")

    def unpause(self, name: str) -> Change:
        operator = self.get(name)
        operator.pause_reason = None
        operator.missed_in_row = 0
        if operator.state == State.PAUSED:
            operator.state = State.AVAILABLE
        return Change(name, operator.state, operator.handset, "back from pause")

    # --- ringing and calls ------------------------------------------------------------

    def can_ring(self, name: str, handset_off_hook: bool, now: float) -> bool:
        """True when `name` may be rung now: logged in, free, on-hook, not wrapping up or paused."""
        operator = self.get(name)
        return (
            operator.state in (State.AVAILABLE, State.WRAP_UP)
            and operator.handset is not None
            and not handset_off_hook
            and now >= operator.wrap_up_until
            and now >= operator.retry_after
        )

    def candidates(self, off_hook: Mapping[str, bool], now: float) -> list[Candidate]:
        """Everyone who may be rung now, in config order, for the strategies."""
        return [
            Candidate(o.name, o.handset, dict(o.skills), o.calls_taken, o.last_call_end, o.weight)
            for o in self
            if o.handset is not None and self.can_ring(o.name, off_hook.get(o.handset, False), now)
        ]

    def ringing(self, name: str, now: float) -> Change:
        operator = self.get(name)
        if not self.can_ring(name, False, now):
            raise ValueError(f"operator {name!r} cannot be rung now ({operator.state.value})")
        operator.state = State.RINGING
        return Change(name, State.RINGING, operator.handset, "rung")

    def answered(self, name: str, now: float) -> Change:
        operator = self.get(name)
        operator.state, operator.missed_in_row = State.ON_CALL, 0
        return Change(name, State.ON_CALL, operator.handset, "answered")

    def ring_stopped(self, name: str, now: float, *, unanswered: bool) -> Change:
        """The ringing ended without this operator: unanswered (their timeout) or taken by someone else."""
        operator = self.get(name)
        if operator.state != State.RINGING:
            return Change(name, operator.state, operator.handset, "not ringing")
        operator.state = State.AVAILABLE
        if not unanswered:
            return self._pending_pause(operator) or Change(
                name, State.AVAILABLE, operator.handset, "ringing stopped"
            )
        operator.missed_in_row += 1
        operator.retry_after = now + operator.retry_pause
        if operator.max_missed and operator.missed_in_row >= operator.max_missed:
            operator.state = State.PAUSED
            operator.pause_reason = f"did not answer {operator.missed_in_row} calls in a row"
            return Change(name, State.PAUSED, operator.handset, operator.pause_reason)
        return self._pending_pause(operator) or Change(name, State.AVAILABLE, operator.handset, "no answer")

    def call_ended(self, name: str, now: float) -> Change:
        operator = self.get(name)
        operator.calls_taken += 1
        operator.last_call_end = now
        operator.wrap_up_until = now + operator.wrap_up
        operator.state = State.WRAP_UP if operator.wrap_up > 0 else State.AVAILABLE
        return self._pending_pause(operator) or Change(name, operator.state, operator.handset, "call ended")

    def ready(self, name: str, now: float) -> None:
        """The operator asked for a call themself (call back now): their wrap-up is over."""
        operator = self.get(name)
        if operator.state == State.WRAP_UP:
            operator.state, operator.wrap_up_until = State.AVAILABLE, now

    def _pending_pause(self, operator: Operator) -> Change | None:
        if operator.pause_reason is None:
            return None
        operator.state = State.PAUSED
        return Change(operator.name, State.PAUSED, operator.handset, f"paused: {operator.pause_reason}")

    # --- time passing ----------------------------------------------------------------

    def tick(self, now: float, wall: float | None = None, *, roster: bool = True) -> list[Change]:
        """Let time pass: wrap-ups end (`now`, monotonic), shifts start and end (`wall`; `now` when left out).

        `roster=False` while the wall clock is not set: a box that thinks it is 1970 logs nobody in or out.
        """
        wall = now if wall is None else wall
        changes = []
        for operator in self:
            if operator.state == State.WRAP_UP and now >= operator.wrap_up_until:
                operator.state = State.AVAILABLE
                changes.append(Change(operator.name, State.AVAILABLE, operator.handset, "wrap-up over"))
            if self.roster is not None and roster:
                change = self._follow_roster(self.roster, operator, wall)
                if change is not None:
                    changes.append(change)
        return changes

    def _follow_roster(self, roster: Roster, operator: Operator, now: float) -> Change | None:
        if operator.overridden:
            if operator.override_until is None or now < operator.override_until:
                return None
            operator.overridden, operator.override_until = False, None
        duty = roster.duty(operator.name, now)
        if duty is None:
            if operator.state in (State.LOGGED_OUT, State.RINGING, State.ON_CALL):
                return None
            return self.logout(operator.name, now, manual=False)
        handset = duty[0]
        if operator.handset == handset and operator.state != State.LOGGED_OUT:
            return None
        if operator.state in (State.RINGING, State.ON_CALL):
            return None
        occupant = self.at_handset(handset)
        if occupant is not None and occupant is not operator:
            return None  # someone logged in there by hand keeps it; the shift starts when they leave
        return self.login(operator.name, handset, now, manual=False)


def _shift_from(entry: Mapping[str, object], index: int) -> Shift:
    where = f"roster[{index}]"
    for key in ("operator", "handset", "days", "hours"):
        if key not in entry:
            raise ValueError(f"{where} needs {key}")
    hours = entry["hours"]
    match = _HOURS.fullmatch(hours.replace(" ", "")) if isinstance(hours, str) else None
    if match is None:
        raise ValueError(f"{where}.hours {hours!r} must look like '09:00-17:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{where}.hours {hours!r} is not a time of day")
    start, end = time(h1, m1), time(0, 0) if h2 == 24 else time(h2, m2)
    if start == end and h2 != 24:
        raise ValueError(f"{where}.hours {hours!r} starts and ends at the same time")
    return Shift(str(entry["operator"]), str(entry["handset"]), _days(entry["days"], where), start, end)


def _days(value: object, where: str) -> frozenset[int]:
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list | tuple) or not parts:
        raise ValueError(f"{where}.days {value!r} must be like 'mon-fri' or ['sat', 'sun']")
    days: set[int] = set()
    for part in (str(p).strip().lower() for p in parts):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{where}.days: {part!r} is not a day (mon..sun)")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)
