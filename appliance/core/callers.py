"""Who is calling: the blocklist (with expiry), the priority list and named caller lists."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from .problems import Problem

_NUMBER = re.compile(r"^\+?[0-9*#]{3,20}$")


@dataclass(frozen=True)
class CallerLists:
    blocked: dict[str, float | None] = field(default_factory=dict)  # number -> blocked until (epoch), None forever
    priority: frozenset[str] = frozenset()
    lists: dict[str, frozenset[str]] = field(default_factory=dict)

    def is_blocked(self, caller: str | None, now: float) -> bool:
        if caller is None or caller not in self.blocked:
            return False
        until = self.blocked[caller]
        return until is None or now < until

    def is_priority(self, caller: str | None) -> bool:
        return caller is not None and caller in self.priority

    def in_list(self, name: str, caller: str | None) -> bool:
        return caller is not None and caller in self.lists.get(name, frozenset())


def parse_callers(doc: object, timezone: str = "UTC", where: str = "callers") -> tuple[CallerLists, list[Problem]]:
    problems: list[Problem] = []
    if doc is None:
        return CallerLists(), problems
    if not isinstance(doc, dict):
        return CallerLists(), [Problem(where, "must be a table")]
    blocked: dict[str, float | None] = {}
    for i, entry in enumerate(doc.get("blocked", [])):
        spot = f"{where}.blocked[{i}]"
        if not isinstance(entry, dict) or not _is_number(entry.get("number")):
            problems.append(Problem(spot, 'needs number = "+7..." (and optionally until = "YYYY-MM-DD")'))
            continue
        until = entry.get("until")
        if until is None:
            blocked[entry["number"]] = None
            continue
        try:
            day = datetime.strptime(str(until), "%Y-%m-%d").date()
        except ValueError:
            problems.append(Problem(f"{spot}.until", f"{until!r} is not a YYYY-MM-DD date"))
            continue
        # Blocked through the whole of that day, in the box's own time zone.
        blocked[entry["number"]] = datetime.combine(day, time.max, ZoneInfo(timezone)).timestamp()
    priority = _numbers(doc.get("priority", []), f"{where}.priority", problems)
    lists = {}
    raw_lists = doc.get("lists", {})
    if not isinstance(raw_lists, dict):
        problems.append(Problem(f"{where}.lists", "must be a table of name = [numbers]"))
        raw_lists = {}
    for name, numbers in raw_lists.items():
        lists[name] = _numbers(numbers, f"{where}.lists.{name}", problems)
    return CallerLists(blocked=blocked, priority=priority, lists=lists), problems


def _is_number(value: object) -> bool:
    return isinstance(value, str) and bool(_NUMBER.match(value))


def _numbers(values: object, where: str, problems: list[Problem]) -> frozenset[str]:
    if not isinstance(values, list):
        problems.append(Problem(where, "must be a list of phone numbers"))
        return frozenset()
    good = []
    for i, value in enumerate(values):
        if _is_number(value):
            good.append(value)
        else:
            problems.append(Problem(f"{where}[{i}]", f"{value!r} is not a phone number"))
    return frozenset(good)
