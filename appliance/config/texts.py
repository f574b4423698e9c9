"""[texts]: the two-way SMS text line (docs/texts.md) — canned replies, the skill texts ask for, and whether the
emergency announcement answers texts too."""

from __future__ import annotations

from typing import Any

from appliance.core.lean import lean

from ..core.problems import Problem

KEYS = ("enabled", "canned", "skill", "announce")
MAX_CANNED = 20


@lean(frozen=True)
class Texts:
    enabled: bool = True  # incoming SMS become conversations routed to operators
    canned: tuple[str, ...] = ()  # replies an operator picks instead of typing
    skill: str | None = None  # the skill a text asks for, as a route node's (None: anyone)
    announce: bool = True  # while the emergency announcement is on, its words answer each new text once


def parse_texts(document: dict[str, Any], problems: list[Problem]) -> Texts:
    raw = document.get("texts", {})
    if not isinstance(raw, dict):
        problems.append(Problem("texts", "must be a table (enabled, canned, skill, announce)"))
        return Texts()
    for key in ("enabled", "announce"):
        if not isinstance(raw.get(key, True), bool):
            problems.append(Problem(f"texts.{key}", "must be true or false"))
    canned = raw.get("canned", [])
    if not isinstance(canned, list) or len(canned) > MAX_CANNED or not all(
            isinstance(c, str) and c.strip() and len(c) <= 1000 for c in canned):
        problems.append(Problem("texts.canned", f"must be a list of at most {MAX_CANNED} replies, each 1 to 1000 "
                                "characters"))
        canned = []
    skill = raw.get("skill")
    if skill is not None and (not isinstance(skill, str) or not skill.strip()):
        problems.append(Problem("texts.skill", "must be a skill's name"))
        skill = None
    return Texts(raw.get("enabled", True) is True, tuple(c.strip() for c in canned), skill,
                 raw.get("announce", True) is True)
