"""The schedule as month grids, and the two ways the calendar changes it: one day toggled, a list imported.

Pure functions over the config document; the page saves what they return through the normal
check, revision and apply path.
"""

from __future__ import annotations

import calendar
import copy
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from appliance.core.schedule import DAYS, SPAN, Schedule, parse_date, parse_schedule

KINDS = ("holiday", "special")


@dataclass(frozen=True)
class Day:
    day: date
    state: str  # open | closed | holiday | special
    hours: str  # "09:00-13:00, 14:00-18:00", "24 h", or ""
    toggles: bool  # a click adds or removes it as a one-off holiday (not a yearly holiday or a special day)


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    weeks: list[list[Day | None]]  # Monday first; None pads the first and last week


def _hours(spans: tuple[tuple[time, time], ...]) -> str:
    return ", ".join(f"{a:%H:%M}-{'24:00' if b == time.max else f'{b:%H:%M}'}" for a, b in spans)


def day_of(schedule: Schedule, day: date) -> Day:
    """What the schedule says about one day (a forced open/closed override is shown apart, not here)."""
    yearly = (day.month, day.day) in schedule.yearly_holidays
    if day in schedule.special_days:
        return Day(day, "special", _hours(schedule.special_days[day]), False)
    if day in schedule.holidays or yearly:
        return Day(day, "holiday", "", not yearly)
    if schedule.always_open:
        return Day(day, "open", "24 h", True)
    spans = schedule.hours.get(DAYS[day.weekday()], ())
    return Day(day, "open" if spans else "closed", _hours(spans), True)


def months(document: dict[str, Any], today: date, count: int = 2) -> list[Month]:
    """This month and the next ones as grids of days."""
    schedule, _problems = parse_schedule(document.get("schedule"))
    result = []
    year, month = today.year, today.month
    for _ in range(count):
        weeks = [[day_of(schedule, d) if d.month == month else None for d in week]
                 for week in calendar.Calendar().monthdatescalendar(year, month)]
        result.append(Month(year, month, weeks))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def _schedule(document: dict[str, Any]) -> dict[str, Any]:
    table = document.setdefault("schedule", {})
    if not isinstance(table, dict):
        raise ValueError("schedule must be a table: fix it in the TOML first")
    return table


def toggle_holiday(document: dict[str, Any], text: str) -> dict[str, Any]:
    """A new document with the day ("YYYY-MM-DD") added to schedule.holidays, or removed if it was there."""
    day = parse_date(text)
    if not isinstance(day, date):
        raise ValueError(f"{text!r} is not a date like 2026-01-07")
    new = copy.deepcopy(document)
    table = _schedule(new)
    holidays = table.get("holidays", [])
    if not isinstance(holidays, list):
        raise ValueError("schedule.holidays must be a list: fix it in the TOML first")
    iso = day.isoformat()
    table["holidays"] = [h for h in holidays if h != iso] if iso in holidays else [*holidays, iso]
    return new


def import_dates(document: dict[str, Any], text: str, kind: str, hours: str) -> tuple[dict[str, Any], int]:
    """A new document with every date of text (one a line; blank lines and # comments skipped) added as a
    holiday or a special working day with these hours, and how many were new; ValueError naming every bad
    line, and then nothing is added."""
    if kind not in KINDS:
        raise ValueError(f"import as one of {', '.join(KINDS)}, not {kind!r}")
    spans = [s.strip() for s in hours.split(",") if s.strip()]
    if kind == "special" and (not spans or not all(SPAN.match(s) for s in spans)):
        raise ValueError(f"hours {hours!r}: a special working day needs hours like 09:00-18:00")
    bad, found = [], []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        day = parse_date(entry)
        if day is None:
            bad.append(f"line {number}: {entry!r} is not YYYY-MM-DD or MM-DD")
        elif kind == "special" and not isinstance(day, date):
            bad.append(f"line {number}: {entry!r}: a special working day needs the year (YYYY-MM-DD)")
        else:
            found.append(entry)
    if bad:
        raise ValueError("; ".join(bad))
    if not found:
        raise ValueError("no dates to import: write one date a line")
    new = copy.deepcopy(document)
    table = _schedule(new)
    if kind == "holiday":
        holidays = table.get("holidays", [])
        if not isinstance(holidays, list):
            raise ValueError("schedule.holidays must be a list: fix it in the TOML first")
        fresh = [d for i, d in enumerate(found) if d not in holidays and d not in found[:i]]
        table["holidays"] = [*holidays, *fresh]
        return new, len(fresh)
    special = table.setdefault("special_days", {})
    if not isinstance(special, dict):
        raise ValueError("schedule.special_days must be a table: fix it in the TOML first")
    fresh = [d for i, d in enumerate(found) if d not in special and d not in found[:i]]
    for entry in found:
        special[entry] = spans
    return new, len(fresh)
