"""Who is calling: the blocklist (with expiry), the priority list and named caller lists."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from appliance.core.lean import lean

from .problems import Problem

_NUMBER = re.compile(r"^\+?[0-9*#]{3,20}$")
_KEY = re.compile(r"^[0-9a-f]{32}$")  # a caller's pseudonym key (appliance.records.privacy.Privacy.key)


@lean(frozen=True)
class CallerLists:
    blocked: dict[str, float | None] = field(default_factory=dict)  # number -> blocked until (epoch), None forever
    priority: frozenset[str] = frozenset()
    lists: dict[str, frozenset[str]] = field(default_factory=dict)
    # Callers blocked from a call's record without anyone seeing their number: key -> until, as `blocked`.
    blocked_keys: dict[str, float | None] = field(default_factory=dict)
    # The box's number -> key function (it holds the privacy secret, so the daemon hands it in).
    key_of: Callable[[str], str | None] | None = field(default=None, compare=False)

    def is_blocked(self, caller: str | None, now: float) -> bool:
        if caller is None:
            return False
        if caller in self.blocked:
            until = self.blocked[caller]
        elif self.blocked_keys and self.key_of is not None and (key := self.key_of(caller)) in self.blocked_keys:
            until = self.blocked_keys[key]
        else:
            return False
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
    blocked_keys: dict[str, float | None] = {}
    entries = doc.get("blocked", [])
    for i, entry in enumerate(entries if isinstance(entries, list) else [entries]):
        spot = f"{where}.blocked[{i}]"
        if isinstance(entry, dict) and isinstance(entry.get("key"), str) and _KEY.match(entry["key"]):
            table, caller = blocked_keys, entry["key"]
        elif isinstance(entry, dict) and _is_number(entry.get("number")):
            table, caller = blocked, entry["number"]
        else:
            problems.append(Problem(spot, 'needs number = "+7..." or the key of a blocked call\'s caller '
                                    '(and optionally until = "YYYY-MM-DD")'))
            continue
        until = entry.get("until")
        if until is None:
            table[caller] = None
            continue
        try:
            day = datetime.strptime(str(until), "%Y-%m-%d").date()
        except ValueError:
            problems.append(Problem(f"{spot}.until", f"{until!r} is not a YYYY-MM-DD date"))
            continue
        # Blocked through the whole of that day, in the box's own time zone.
        table[caller] = datetime.combine(day, time.max, ZoneInfo(timezone)).timestamp()
    priority = _numbers(doc.get("priority", []), f"{where}.priority", problems)
    lists = {}
    raw_lists = doc.get("lists", {})
    if not isinstance(raw_lists, dict):
        problems.append(Problem(f"{where}.lists", "must be a table of name = [numbers]"))
        raw_lists = {}
    for name, numbers in raw_lists.items():
        lists[name] = _numbers(numbers, f"{where}.lists.{name}", problems)
    return CallerLists(blocked=blocked, priority=priority, lists=lists, blocked_keys=blocked_keys), problems


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
