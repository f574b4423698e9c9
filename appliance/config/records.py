"""The records side of the config: how numbers are kept, for how long, who hears of each call, and where
operators may hand a caller on to."""

from __future__ import annotations

import re
from dataclasses import field
from typing import Any

from appliance.core.lean import lean

from ..core.problems import Problem
from ..records.privacy import MODES
from ..records.privacy import RETENTION_KINDS as KINDS
from ..records.webhooks import EVENTS, Endpoint

AUDIT_DAYS = 365.0  # a year of who saw and changed what, unless [retention] audit says otherwise


@lean(frozen=True)
class Records:
    privacy: str = "full"
    retention: dict[str, float | None] = field(default_factory=dict)  # kind -> days; None keeps forever
    webhooks: tuple[Endpoint, ...] = ()
    recording_prompt: str | None = None  # every call is recorded, after this announcement
    warn_free_mb: float = 100.0  # [storage]: the data disk's free space that raises the disk.low alarm ...
    warn_free_percent: float = 5.0  # ... or this share of it, whichever is larger
    transfer_allowed: tuple[str, ...] = ()  # numbers, or prefixes ending in *, operators may transfer to
    audit_days: float = AUDIT_DAYS  # [retention] audit: the audit log (access.db) is pruned past this

    def may_transfer_to(self, number: str) -> bool:
        """An operator's transfer target: a listed number or one under a listed prefix ("+7800*")."""
        return any(number.startswith(p[:-1]) if p.endswith("*") else number == p for p in self.transfer_allowed)


_TRANSFER_PATTERN = re.compile(r"\+?[0-9]{3,20}|\+?[0-9]{1,19}\*")


def _recording(document: dict[str, Any], problems: list[Problem]) -> str | None:
    raw = document.get("recording", {})
    if not isinstance(raw, dict) or not raw.get("calls", False):
        return None
    prompt = raw.get("announcement")
    if not isinstance(prompt, str) or prompt not in document.get("prompts", {}):
        problems.append(Problem("recording.announcement", "recording calls needs an announcement prompt telling "
                                "the caller (the law requires it in most places)"))
        return None
    return prompt


def parse_records(document: dict[str, Any], problems: list[Problem]) -> Records:
    privacy = document.get("privacy", {})
    mode = privacy.get("numbers", "full") if isinstance(privacy, dict) else None
    if mode not in MODES:
        problems.append(Problem("privacy.numbers", f"{mode!r} is not one of {', '.join(MODES)}"))
        mode = "full"
    retention: dict[str, float | None] = {}
    raw = document.get("retention", {})
    if not isinstance(raw, dict):
        problems.append(Problem("retention", "must be a table of kind = days"))
        raw = {}
    audit_days = AUDIT_DAYS
    for kind, days in raw.items():
        if kind not in (*KINDS, "audit"):
            continue  # refused as an unknown key (keys.py)
        if isinstance(days, bool) or not isinstance(days, int | float) or days <= 0:
            problems.append(Problem(f"retention.{kind}", "must be a positive number of days"))
        elif kind == "audit":
            audit_days = float(days)
        else:
            retention[kind] = float(days)
    endpoints = []
    hooks = document.get("webhooks", [])
    if not isinstance(hooks, list):
        problems.append(Problem("webhooks", "must be a list of [[webhooks]] tables"))
        hooks = []
    for i, hook in enumerate(hooks):
        if not isinstance(hook, dict):
            problems.append(Problem(f"webhooks[{i}]", "must be a table with url, secret and events"))
            continue
        flags = {name: hook.get(name, False) for name in ("allow_http", "allow_private")}
        wrong = [name for name, value in flags.items() if not isinstance(value, bool)]
        if wrong:
            problems.append(Problem(f"webhooks[{i}].{wrong[0]}", "must be true or false"))
            continue
        try:
            endpoints.append(Endpoint(str(hook.get("url", "")), str(hook.get("secret", "")),
                                      frozenset(hook.get("events", EVENTS)), **flags))
        except (ValueError, TypeError) as exc:
            problems.append(Problem(f"webhooks[{i}]", str(exc)))
    warn_mb, warn_percent = _storage(document, problems)
    return Records(mode, retention, tuple(endpoints), _recording(document, problems), warn_mb, warn_percent,
                   _transfer(document, problems), audit_days)


def _storage(document: dict[str, Any], problems: list[Problem]) -> tuple[float, float]:
    raw = document.get("storage", {})
    if not isinstance(raw, dict):
        problems.append(Problem("storage", "must be a table (warn_free_mb, warn_free_percent)"))
        raw = {}
    values = []
    for key, default, top in (("warn_free_mb", Records.warn_free_mb, None), ("warn_free_percent",
                                                                          Records.warn_free_percent, 100)):
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (top and value > top):
            limit = f"from 0 to {top}" if top else "0 or more"
            problems.append(Problem(f"storage.{key}", f"must be a number {limit}, not {value!r}"))
            value = default
        values.append(float(value))
    return values[0], values[1]


def _transfer(document: dict[str, Any], problems: list[Problem]) -> tuple[str, ...]:
    """[transfer] allowed: the flow's own transfer numbers are added by the daemon; nothing else is open."""
    raw = document.get("transfer", {})
    allowed = raw.get("allowed", []) if isinstance(raw, dict) else None
    if not isinstance(allowed, list):
        problems.append(Problem("transfer.allowed", 'must be a list of numbers or prefixes like "+7800*"'))
        return ()
    bad = [p for p in allowed if not isinstance(p, str) or not _TRANSFER_PATTERN.fullmatch(p)]
    if bad:
        problems.append(Problem("transfer.allowed", f"{bad[0]!r} is not a number or a prefix ending in * "
                                '(e.g. "+78001234567" or "+7800*")'))
        return ()
    return tuple(allowed)
