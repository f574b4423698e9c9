"""Opening hours: is the hotline open at a given moment?"""

from __future__ import annotations

import re
from dataclasses import field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.core.lean import lean

from .problems import Problem

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Opening hours "09:00-18:00", and a date: the web calendar reads what it is given with these too.
SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YEARLY = re.compile(r"^(\d{2})-(\d{2})$")
WHEN_TIME_UNKNOWN = ("open", "closed")


@lean(frozen=True)
class Schedule:
    timezone: str = "UTC"
    always_open: bool = True
    hours: dict[str, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()  # one-off closed days
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()  # (month, day) closed every year
    special_days: dict[date, tuple[tuple[time, time], ...]] = field(default_factory=dict)  # moved working days
    override: str | None = None  # "open" / "closed" from the web page, None to follow the hours
    override_until: float | None = None  # epoch seconds the override ends at; None: until taken back
    when_time_unknown: str = "open"  # how calls are taken before the clock is set (a Pi boots in the past)

    def forced(self, now: float | None) -> str | None:
        """The override in force at `now`: past its end it lapses by itself (an unknown time keeps it)."""
        if self.override_until is not None and now is not None and now >= self.override_until:
            return None
        return self.override

    def is_holiday(self, now: float | None) -> bool:
        """`now` is None while the date is not known: no day counts as a holiday then."""
        if now is None:
            return False
        day = self._local(now).date()
        return day not in self.special_days and (day in self.holidays or (day.month, day.day) in self.yearly_holidays)

    def is_open(self, now: float | None) -> bool:
        """Open at `now` (epoch seconds); None when the time is not known, and `when_time_unknown` decides."""
        if self.forced(now) is not None:
            return self.override == "open"
        if self.always_open:
            return True
        if now is None:
            return self.when_time_unknown == "open"
        local = self._local(now)
        if local.date() in self.special_days:
            spans = self.special_days[local.date()]
        elif self.is_holiday(now):
            return False
        else:
            spans = self.hours.get(DAYS[local.weekday()], ())
        moment = local.time()
        return any(start <= moment < end for start, end in spans)

    def _local(self, now: float) -> datetime:
        return datetime.fromtimestamp(now, ZoneInfo(self.timezone))


def parse_schedule(doc: object, where: str = "schedule") -> tuple[Schedule, list[Problem]]:
    problems: list[Problem] = []
    if doc is None:
        return Schedule(), problems
    if not isinstance(doc, dict):
        return Schedule(), [Problem(where, "must be a table")]
    tz = doc.get("timezone", "UTC")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(Problem(f"{where}.timezone", f"unknown time zone {tz!r}"))
        tz = "UTC"
    always_open = doc.get("always_open", False)
    if not isinstance(always_open, bool):
        problems.append(Problem(f"{where}.always_open", "must be true or false"))
        always_open = False
    hours: dict[str, tuple[tuple[time, time], ...]] = {}
    raw_hours = doc.get("hours", {})
    if not isinstance(raw_hours, dict):
        problems.append(Problem(f"{where}.hours", "must be a table of days"))
        raw_hours = {}
    for day, spans in raw_hours.items():
        if day not in DAYS:
            problems.append(Problem(f"{where}.hours.{day}", f"unknown day; use one of {', '.join(DAYS)}"))
            continue
        hours[day] = _spans(spans, f"{where}.hours.{day}", problems)
    holidays, yearly = set(), set()
    raw_holidays = doc.get("holidays", [])
    if not isinstance(raw_holidays, list):
        problems.append(Problem(f"{where}.holidays", 'must be a list like ["2026-01-07", "05-09"]'))
        raw_holidays = []
    for i, text in enumerate(raw_holidays):
        day = parse_date(text)
        if isinstance(day, date):
            holidays.add(day)
        elif day is not None:
            yearly.add(day)
        else:
            problems.append(Problem(f"{where}.holidays[{i}]", f"{text!r} is not YYYY-MM-DD or MM-DD (yearly)"))
    special: dict[date, tuple[tuple[time, time], ...]] = {}
    raw_special = doc.get("special_days", {})
    if not isinstance(raw_special, dict):
        problems.append(Problem(f"{where}.special_days", 'must be a table like "2026-12-27" = ["09:00-18:00"]'))
        raw_special = {}
    for text, spans in raw_special.items():
        day = parse_date(text)
        if not isinstance(day, date):
            problems.append(Problem(f"{where}.special_days.{text}", "is not a YYYY-MM-DD date"))
            continue
        special[day] = _spans(spans, f"{where}.special_days.{text}", problems)
    if not always_open and not any(hours.values()) and not problems:
        problems.append(Problem(f"{where}.hours", "no opening hours and always_open is false: the line is "
                                "never open", "warning"))
    override = doc.get("override")
    if override not in (None, "open", "closed"):
        problems.append(Problem(f"{where}.override", 'must be "open" or "closed" (or left out)'))
        override = None
    unknown = doc.get("when_time_unknown", "open")
    if unknown not in WHEN_TIME_UNKNOWN:
        problems.append(Problem(f"{where}.when_time_unknown", f"{unknown!r}: must be \"open\" or \"closed\" (how "
                                "calls are taken until the clock is set)"))
        unknown = "open"
    return Schedule(timezone=str(tz), always_open=always_open, hours=hours, holidays=frozenset(holidays),
                    yearly_holidays=frozenset(yearly), special_days=special, override=override,
                    when_time_unknown=unknown), problems


def parse_date(text: object) -> date | tuple[int, int] | None:
    """A YYYY-MM-DD date, a (month, day) for MM-DD, or None when it is neither."""
    text = str(text)
    try:
        if m := _DATE.match(text):
            return date(*(int(g) for g in m.groups()))
        if m := _YEARLY.match(text):
            month, day = (int(g) for g in m.groups())
            date(2024, month, day)  # a leap year, so 02-29 is a valid yearly holiday
            return month, day
    except ValueError:
        return None
    return None


def _spans(spans: object, where: str, problems: list[Problem]) -> tuple[tuple[time, time], ...]:
    if not isinstance(spans, list):
        problems.append(Problem(where, 'must be a list like ["09:00-18:00"]'))
        return ()
    parsed = []
    for i, span in enumerate(spans):
        m = SPAN.match(str(span))
        if not m:
            problems.append(Problem(f"{where}[{i}]", f"{span!r} is not HH:MM-HH:MM"))
            continue
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start = time(h1, m1)
        end = time.max if (h2, m2) == (24, 0) else time(h2 % 24, m2)
        if end <= start:
            problems.append(Problem(f"{where}[{i}]", f"{span!r} ends before it starts"))
            continue
        parsed.append((start, end))
    return tuple(parsed)
