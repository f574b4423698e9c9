"""The people and routing forms: operators and their shifts, how the queue rings them, who is calling
(blocklist, priority list, named caller lists), and the webhooks told of each call.
Built like web/forms.py: a field's name is its path in the document."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import current_app

from appliance.core.strategies import STRATEGIES
from appliance.records.privacy import MODES, SECRET_FILE, Privacy
from appliance.records.webhooks import EVENTS

from .forms import Field, Group, get
from .i18n import translate as _

SECTIONS = ("operators", "queue", "callers", "webhooks")
# Operator settings a form offers: (key, label, kind); the check gives the ranges.
_OPERATOR = (
    ("ring_timeout", "Rings for (seconds) before the next operator", "number"),
    ("wrap_up", "Wrap-up after a call (seconds)", "number"),
    ("retry_pause", "Pause after an unanswered ring (seconds)", "number"),
    ("max_missed", "Auto-pause after this many missed rings (0 never)", "int"),
    ("weight", "Weight (for the weighted random strategy)", "int"),
)


def _f(document: dict[str, Any], path: str, label: str, kind: str, options: tuple[str, ...] = (),
       value: Any = None) -> Field:
    return Field(path, _(label), kind, get(document, path) if value is None else value, options)


def groups(section: str, document: dict[str, Any]) -> list[Group]:
    if section == "operators":
        result = []
        for i, spec in enumerate(_list(document, "operators")):
            where = f"operators[{i}]"
            skills = spec.get("skills") if isinstance(spec, dict) else None
            if isinstance(skills, list):  # a plain list of skills is every skill at level 1
                skills = dict.fromkeys(skills, 1)
            fields = [_f(document, f"{where}.name", "Name", "text"),
                      _f(document, f"{where}.skills", "Skills and levels (1 to 5)", "intmap", value=skills)]
            fields += [_f(document, f"{where}.{key}", label, kind) for key, label, kind in _OPERATOR]
            name = spec.get("name", i) if isinstance(spec, dict) else i
            result.append(Group(_("Operator {name}", name=name), where, fields, deletable=True))
        names = tuple(o.get("name", "") for o in _list(document, "operators") if isinstance(o, dict))
        handsets = tuple(h.get("id", "") for h in _list(document, "handsets") if isinstance(h, dict))
        for i, _shift in enumerate(_list(document, "roster")):
            where = f"roster[{i}]"
            result.append(Group(_("Shift {number}", number=i + 1), where, [
                _f(document, f"{where}.operator", "Operator", "select", names),
                _f(document, f"{where}.handset", "At handset", "select", handsets),
                _f(document, f"{where}.days", "Days (mon-fri, sat, sun)", "text"),
                _f(document, f"{where}.hours", "Hours (09:00-18:00)", "text")], deletable=True))
        return result
    if section == "webhooks":
        return [Group(_("Webhook {url}", url=hook.get("url", i) if isinstance(hook, dict) else i), f"webhooks[{i}]", [
            _f(document, f"webhooks[{i}].url", "Address (https://...)", "text"),
            _f(document, f"webhooks[{i}].secret", "Signing secret (16 characters or more)", "text"),
            _f(document, f"webhooks[{i}].events", _("Events ({events})", events=", ".join(EVENTS)), "list"),
            _f(document, f"webhooks[{i}].allow_http", "Allow plain http", "bool"),
            _f(document, f"webhooks[{i}].allow_private", "Allow a private address", "bool"),
        ], deletable=True) for i, hook in enumerate(_list(document, "webhooks"))]
    if section == "queue":
        prompts = ("", *document.get("prompts", {}))
        tiers = get(document, "queue.tiers")
        shown = ({str(t.get("after")): t.get("min_level", "any") for t in tiers if isinstance(t, dict)}
                 if isinstance(tiers, list) else tiers)
        return [Group(_("Queue"), "queue", [
            _f(document, "queue.strategy", "Who is rung", "select", STRATEGIES),
            _f(document, "queue.tiers", "Skill tiers: after seconds = lowest level (or any)", "tiers", value=shown),
            _f(document, "queue.announce_every", "Announce the place in line every (seconds, 0 never)", "number"),
            _f(document, "queue.position_text", "Place in line ({n} is the number)", "text"),
            _f(document, "queue.position_text_ru", "Place in line, Russian", "text"),
            _f(document, "queue.wait_text", "Expected wait ({m} is the minutes)", "text"),
            _f(document, "queue.wait_text_ru", "Expected wait, Russian", "text"),
            _f(document, "queue.hold_music", "Hold music (a prompt; empty for ringback)", "select", prompts),
            _f(document, "queue.handover_whisper", "Handover: say who is coming in the taking desk's handset "
                                                    "(over a free line)", "bool"),
        ])]
    if section == "callers":
        result = []
        for i, entry in enumerate(_list(document, "callers.blocked")):
            where = f"callers.blocked[{i}]"
            if isinstance(entry, dict) and "key" in entry:  # blocked from a call: the number is not known here
                who = _f(document, f"{where}.note", "Blocked from", "text")
            else:
                who = _f(document, f"{where}.number", "Number", "text")
            result.append(Group(_("Blocked caller"), where, [
                who, _f(document, f"{where}.until", "Blocked until (YYYY-MM-DD, empty for good)", "text")],
                deletable=True))
        fields = [_f(document, "callers.priority", "Priority callers (numbers, answered first)", "list")]
        lists = get(document, "callers.lists")
        for name in lists if isinstance(lists, dict) else {}:
            fields.append(_f(document, f"callers.lists.{name}", _("List {name}", name=name), "list"))
        result.append(Group(_("Caller lists"), "callers", fields))
        return result
    raise KeyError(section)


def _list(document: dict[str, Any], path: str) -> list[Any]:
    value = get(document, path)
    return value if isinstance(value, list) else []


def add(section: str, new: dict[str, Any], name: str, kind: str = "") -> None:
    """Add an empty item (in place); ValueError naming what is wrong with the name."""
    if not name:
        raise ValueError(_("Type a name first."))
    if section == "operators" and kind == "shift":  # a shift for an operator, at their usual handset
        handset = next((h.get("id") for h in new.get("handsets", []) if h.get("operator") == name),
                       next((h.get("id") for h in new.get("handsets", [])), ""))
        new.setdefault("roster", []).append({"operator": name, "handset": handset, "days": "mon-fri",
                                             "hours": "09:00-18:00"})
    elif section == "webhooks":
        new.setdefault("webhooks", []).append({"url": name, "secret": secrets.token_hex(16), "events": list(EVENTS)})
    elif section == "operators":
        if "operators" not in new:
            # Until now each handset's operator was one implicitly: keep them, or their handsets break.
            new["operators"] = [{"name": h["operator"], "skills": dict.fromkeys(h.get("skills", []), 1)}
                                for h in new.get("handsets", []) if isinstance(h.get("operator"), str)]
        if any(isinstance(o, dict) and o.get("name") == name for o in new["operators"]):
            raise ValueError(_("There is already an operator {name}.", name=name))
        new["operators"].append({"name": name, "skills": {}})
    elif section == "callers":
        callers = new.setdefault("callers", {})
        if name.lstrip("+").replace(" ", "").replace("-", "").isdigit():
            callers.setdefault("blocked", []).append(_blocked_entry(new, name))
        else:  # a word names a new caller list
            callers.setdefault("lists", {}).setdefault(name, [])
    else:
        raise ValueError(f"nothing can be added to {section}")


def present(section: str, document: dict[str, Any], name: str, kind: str = "") -> bool:
    if section == "operators" and kind == "shift":
        return any(isinstance(e, dict) and e.get("operator") == name for e in _list(document, "roster"))
    if section == "webhooks":
        return any(isinstance(h, dict) and h.get("url") == name for h in _list(document, "webhooks"))
    if section == "operators":
        return any(isinstance(o, dict) and o.get("name") == name for o in _list(document, "operators"))
    entry = _blocked_entry(document, name)
    return any(isinstance(e, dict) and e.get("number", e.get("key")) == entry.get("number", entry.get("key"))
               for e in _list(document, "callers.blocked")) \
        or name in (get(document, "callers.lists") or {})


def _blocked_entry(document: dict[str, Any], typed: str) -> dict[str, str]:
    """A typed number to block, as the box's privacy mode allows it kept: in full, or (masked, pseudonym) only
    as the caller's key, so the config, its revisions and backups never hold the number."""
    number = typed.replace(" ", "").replace("-", "")
    privacy = document.get("privacy", {})
    mode = privacy.get("numbers", "full") if isinstance(privacy, dict) else "full"
    secret = Path(current_app.config["DATA_DIR"]) / SECRET_FILE
    if mode == "full" or mode not in MODES or not secret.exists():  # (the daemon makes the key at its first start)
        return {"number": number}
    key = Privacy.for_data_dir(secret.parent, mode).key(number)
    return {"key": key, "note": _("a number typed in by hand")} if key else {"number": number}
