"""A menu's keys as rows on its form: key → a node, or a new node made on the spot (voicemail, a queue for a
skill, hang up, ...), so the admin builds an option and where it leads in one save."""

from __future__ import annotations

from typing import Any

from appliance.config.validators import identifier
from appliance.core.flow import NODE_TYPES

KEYS = "1234567890*#"
NEW = "+new"  # the destination "new node…"
# The new-node types a row offers first, in the admin's words; every other type follows by its name.
QUICK = (("voicemail", "voicemail"), ("route", "queue for a skill"), ("hangup", "hang up"))
TYPES = (*QUICK, *((t, t) for t in NODE_TYPES if t not in dict(QUICK)))


def read(form: Any, path: str, document: dict[str, Any]) -> dict[str, str]:
    """The keys as the rows have them; a row's new node is added to `document` (ValueError for a bad name)."""
    keys: dict[str, str] = {}
    nodes = document.setdefault("flow", {}).setdefault("nodes", {})
    for key in KEYS:
        target = form.get(f"{path}:{key}", "").strip()
        if target == NEW:
            name = form.get(f"{path}:{key}:name", "").strip()
            try:
                identifier(name)
            except ValueError as exc:
                raise ValueError(f"key {key}: the new node's name {exc}") from None
            if name not in nodes:
                nodes[name] = _new_node(form.get(f"{path}:{key}:type", "hangup"),
                                        form.get(f"{path}:{key}:skill", "").strip(), nodes)
            target = name
        if target:
            keys[key] = target
    return keys


def read_languages(form: Any, path: str) -> dict[str, str]:
    """A language node's keys as its rows have them: key → the language a caller pressing it hears."""
    return {key: form.get(f"{path}:{key}", "").strip() for key in KEYS if form.get(f"{path}:{key}", "").strip()}


def _new_node(kind: str, skill: str, nodes: dict[str, Any]) -> dict[str, Any]:
    """A new node that works as it is where the flow allows: a queue goes on to voicemail, voicemail to a
    hang-up (the first of each in the flow); anything else is filled in on its own form."""
    if kind not in NODE_TYPES:
        raise ValueError(f"a new node's type is one of {', '.join(NODE_TYPES)}")

    def first(of: str) -> str | None:
        return next((n for n, spec in nodes.items() if isinstance(spec, dict) and spec.get("type") == of), None)

    node: dict[str, Any] = {"type": kind}
    if kind == "route":
        if skill:
            node["skill"] = skill
        after = first("voicemail") or first("hangup")
    else:
        after = first("hangup") if kind == "voicemail" else None
    if after:
        node["next"] = after
    return node
