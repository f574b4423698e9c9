"""Opening hours: is the hotline open at a given moment?"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .problems import Problem

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class Schedule:
    timezone: str = "UTC"
    always_open: bool = True
    hours: dict[str, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    override: str | None = None  # "open" / "closed" from the web page, None to follow the hours

    def is_open(self, now: float) -> bool:
        if self.override is not None:
            return self.override == "open"
        if self.always_open:
            return True
        local = datetime.fromtimestamp(now, ZoneInfo(self.timezone))
        spans = self.hours.get(DAYS[local.weekday()], ())
        moment = local.time()
        return any(start <= moment < end for start, end in spans)


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
        if not isinstance(spans, list):
            problems.append(Problem(f"{where}.hours.{day}", 'must be a list like ["09:00-18:00"]'))
            continue
        parsed = []
        for i, span in enumerate(spans):
            m = _SPAN.match(str(span))
            if not m:
                problems.append(Problem(f"{where}.hours.{day}[{i}]", f"{span!r} is not HH:MM-HH:MM"))
                continue
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            start = time(h1, m1)
            end = time.max if (h2, m2) == (24, 0) else time(h2 % 24, m2)
            if end <= start:
                problems.append(Problem(f"{where}.hours.{day}[{i}]", f"{span!r} ends before it starts"))
                continue
            parsed.append((start, end))
        hours[day] = tuple(parsed)
    if not always_open and not any(hours.values()) and not problems:
        problems.append(Problem(f"{where}.hours", "no opening hours and always_open is false: the line is "
                                "never open", "warning"))
    return Schedule(timezone=str(tz), always_open=always_open, hours=hours), problems
