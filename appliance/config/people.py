"""The people side of the config: operators, their roster, how the queue rings them, callers' lists."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from appliance.core.lean import lean

from ..core.callbacks import CallbackSettings
from ..core.callers import CallerLists, parse_callers
from ..core.operators import Operator, Roster, Shift
from ..core.problems import Problem
from ..core.queue import RINGBACK, QueueSettings
from ..core.strategies import SkillTier, check_tiers, strategy_name
from .validators import checked, language_variants, number

_PHONE = re.compile(r"\+?[0-9]{3,20}")  # a remote operator's own phone, dialled by the box
_OPERATOR_NUMBERS = {"ring_timeout": (1, 300), "wrap_up": (0, 3600), "retry_pause": (0, 3600),
                     "max_missed": (0, 100), "weight": (1, 100)}


@lean(frozen=True)
class People:
    operators: tuple[Operator, ...]
    logins: dict[str, str]  # operator -> handset they are logged in at when the box starts
    roster: Roster | None
    queue: QueueSettings
    callbacks: CallbackSettings
    callers: CallerLists
    # The queue's announcements as the admin wrote them ("position_text", "wait_text_ru", ...): "{n}"/"{m}" in each
    announcements: Mapping[str, str] = field(default_factory=dict)

    def shifts(self) -> tuple[str, tuple[Shift, ...]]:
        """The roster as a value (its time zone and shifts): equal when the roster did not change."""
        return (self.roster.tz.key, self.roster.shifts) if self.roster else ("", ())


def parse_people(document: dict[str, Any], prompts: set[str], timezone: str, problems: list[Problem]) -> People:
    # The [[handsets]] tables as written, by position (their own checks are in handsets.py): who is at which.
    raw = document.get("handsets")
    handsets = [spec if isinstance(spec, dict) else {} for spec in raw] if isinstance(raw, list) else []
    operators, logins = _operators(document.get("operators"), handsets, problems)
    names = {o.name for o in operators}
    roster = None
    raw_roster = document.get("roster")
    if raw_roster is not None:
        bad = [i for i, e in enumerate(raw_roster) if isinstance(e, dict) and e.get("operator") not in names] \
            if isinstance(raw_roster, list) else []
        for i in bad:
            problems.append(Problem(f"roster[{i}].operator", f"{raw_roster[i].get('operator')!r} is not an operator"))
        handset_ids = {h.get("id") for h in handsets} | {f"phone:{o.name}" for o in operators if o.phone}
        for i, entry in enumerate(raw_roster if isinstance(raw_roster, list) else []):
            if isinstance(entry, dict) and entry.get("handset") not in handset_ids:
                problems.append(Problem(f"roster[{i}].handset", f"{entry.get('handset')!r} is not a handset"))
        try:
            roster = Roster.from_config(raw_roster, timezone)
        except (ValueError, TypeError, AttributeError) as exc:
            problems.append(Problem("roster", str(exc)))
    callers, caller_problems = parse_callers(document.get("callers"), timezone)
    problems += caller_problems
    queue = document.get("queue", {})
    announcements = {key: text for key in (*language_variants("position_text"), *language_variants("wait_text"))
                     if isinstance(text := queue.get(key) if isinstance(queue, dict) else None, str) and text}
    return People(tuple(operators), logins, roster, _queue(queue, prompts, problems),
                  _callbacks(document.get("callbacks", {}), problems), callers, announcements)


def _operators(raw: object, handsets: list[dict[str, Any]], problems: list[Problem]) -> tuple[list[Operator],
                                                                                               dict[str, str]]:
    logins = {h["operator"]: h["id"] for h in handsets if isinstance(h.get("operator"), str)
              and isinstance(h.get("id"), str)}
    if raw is None:
        # No [[operators]]: each handset's operator has that handset's skills, all at level 1.
        return [Operator(h["operator"], dict.fromkeys(_skills(h), 1))
                for h in handsets if isinstance(h.get("operator"), str)], logins
    if not isinstance(raw, list):
        problems.append(Problem("operators", "must be a list of [[operators]] tables"))
        return [], logins
    operators: list[Operator] = []
    for i, spec in enumerate(raw):
        where = f"operators[{i}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"].strip():
            problems.append(Problem(f"{where}.name", "every operator needs a name"))
            continue
        if any(o.name == spec["name"] for o in operators):
            problems.append(Problem(f"{where}.name", f"{spec['name']!r} is listed twice"))
            continue
        skills = spec.get("skills", {})
        if isinstance(skills, list):
            skills = dict.fromkeys(skills, 1)
        if not isinstance(skills, dict) or not all(isinstance(v, int) and 1 <= v <= 5 for v in skills.values()):
            problems.append(Problem(f"{where}.skills", "a table of skill = level (1 to 5), or a list of skills"))
            skills = {}
        values: dict[str, Any] = {}
        for key, (low, high) in _OPERATOR_NUMBERS.items():
            if key in spec:
                value = checked(number, spec[key], f"{where}.{key}", problems, low, high)
                if value is not None:
                    values[key] = int(value) if key in ("max_missed", "weight") else value
        if "phone" in spec:
            phone = spec["phone"]
            if isinstance(phone, str) and _PHONE.fullmatch(phone):
                values["phone"] = phone
            else:
                problems.append(Problem(f"{where}.phone", f"{phone!r} is not a phone number to dial, e.g. "
                                        '"+79161234567"'))
        operators.append(Operator(spec["name"], skills, **values))
    names = {o.name for o in operators}
    for i, handset in enumerate(handsets):
        if isinstance(handset.get("operator"), str) and handset["operator"] not in names:
            problems.append(Problem(f"handsets[{i}].operator", f"{handset['operator']!r} is not in [[operators]]"))
    return operators, {k: v for k, v in logins.items() if k in names}


def _queue(raw: object, prompts: set[str], problems: list[Problem]) -> QueueSettings:
    if not isinstance(raw, dict):
        problems.append(Problem("queue", "must be a table"))
        return QueueSettings()
    settings: dict[str, Any] = {}
    try:
        settings["strategy"] = strategy_name(raw.get("strategy", "ringall"))
    except ValueError as exc:
        problems.append(Problem("queue.strategy", str(exc)))
    every = raw.get("announce_every", 0)
    if isinstance(every, bool) or not isinstance(every, int | float) or every < 0 or 0 < every < 10:
        problems.append(Problem("queue.announce_every", "seconds between announcements: 0 (never) or 10 or more"))
    else:
        settings["announce_every"] = float(every)
        if every and "{n}" not in str(raw.get("position_text", "")):
            problems.append(Problem("queue.position_text", 'announcements need a text with {n}, e.g. '
                                    '"You are number {n} in line."'))
        for key in [k for k in raw if k.startswith("wait_text")]:
            if "{m}" not in str(raw[key]):
                problems.append(Problem(f"queue.{key}", 'needs {m} for the minutes, e.g. '
                                        '"The expected wait is about {m} minutes."'))
    hold = raw.get("hold_music")
    if hold is not None and hold not in prompts:
        problems.append(Problem("queue.hold_music", f"names a missing prompt {hold!r}"))
    settings["hold_prompt"] = hold if hold in prompts else RINGBACK
    whisper = raw.get("handover_whisper", False)
    if not isinstance(whisper, bool):
        problems.append(Problem("queue.handover_whisper", f"true or false, not {whisper!r}"))
    else:
        settings["handover_whisper"] = whisper
    tiers = raw.get("tiers")
    if tiers is not None:
        try:
            settings["tiers"] = check_tiers([
                SkillTier(float(t["after"]), None if t.get("min_level", "any") == "any" else t["min_level"])
                for t in tiers])
        except (ValueError, TypeError, KeyError) as exc:
            problems.append(Problem("queue.tiers", f"{exc}; use [{{after = 0, min_level = 3}}, "
                                    "{after = 30, min_level = 1}, {after = 60, min_level = \"any\"}]"))
    return QueueSettings(**settings)


def _callbacks(raw: object, problems: list[Problem]) -> CallbackSettings:
    if not isinstance(raw, dict):
        problems.append(Problem("callbacks", "must be a table"))
        return CallbackSettings()
    attempts = raw.get("max_attempts", 3)
    retry = raw.get("retry_after", 300)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 10:
        problems.append(Problem("callbacks.max_attempts", "must be a whole number from 1 to 10"))
        attempts = 3
    if isinstance(retry, bool) or not isinstance(retry, int | float) or retry < 30:
        problems.append(Problem("callbacks.retry_after", "must be 30 seconds or more"))
        retry = 300
    return CallbackSettings(attempts, float(retry))


def _skills(handset: dict[str, Any]) -> list[str]:
    skills = handset.get("skills", [])
    return [s for s in skills if isinstance(s, str)] if isinstance(skills, list) else []
