"""The config document as HTML form fields and back.

A field's name is its path in the document, written the way a config Problem names it
("handsets[1].hook_pin", "flow.nodes.menu.keys"), so each problem lands next to its field.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from appliance.config import DIALECTS, HANDSET_PINS, LANGUAGES
from appliance.config.handset_rules import CADENCES
from appliance.config.lines import LINE_AUDIO
from appliance.config.validators import identifier
from appliance.core.flow import NODE_TYPES
from appliance.core.problems import Problem
from appliance.core.schedule import DAYS, WHEN_TIME_UNKNOWN

from . import menu_rows

SECTIONS = ("box", "lines", "handsets", "operators", "queue", "callers", "prompts", "schedule", "flow", "webhooks")
PEOPLE = ("operators", "queue", "callers", "webhooks")  # built by web/forms_people.py
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class Field:
    path: str
    label: str
    kind: str  # text | textarea | int | number | bool | list | intlist | numlist | map | intmap | select | tiers
    # | keyrows (a menu's keys, web/menu_rows.py) | langrows (a language node's keys: key → language)
    value: Any = None
    options: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The value as the input shows it."""
        value = self.value
        if value is None:
            return ""
        if isinstance(value, dict):
            return ", ".join(f"{k}={v}" for k, v in value.items())
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)


@dataclass
class Group:
    title: str
    path: str
    fields: list[Field]
    deletable: bool = False
    kind: str = ""  # "handset" or "prompt" for the extra buttons


def steps(path: str) -> list[str | int]:
    return [int(index) if index else name for name, index in _STEP.findall(path)]


def get(document: dict[str, Any], path: str) -> Any:
    node: Any = document
    for step in steps(path):
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def put(document: dict[str, Any], path: str, value: Any) -> None:
    """Set (or with value None, remove) the field at path, making tables on the way."""
    *parents, last = steps(path)
    node: Any = document
    for step in parents:
        if isinstance(step, int):
            node = node[step]
        else:
            node = node.setdefault(step, {})
    if value is None:
        if isinstance(last, int):
            del node[last]
        else:
            node.pop(last, None)
    else:
        node[last] = value


def _field(document: dict[str, Any], path: str, kind: str, options: tuple[str, ...] = ()) -> Field:
    return Field(path, path.rsplit(".", 1)[-1], kind, get(document, path), options)


def groups(section: str, document: dict[str, Any]) -> list[Group]:
    """The form of one section of the document."""
    if section in PEOPLE:
        from . import forms_people  # it builds on this module's fields

        return forms_people.groups(section, document)
    if section == "box":
        return [Group("box", "box", [_field(document, "box.name", "text"),
                                     _field(document, "box.language", "select", LANGUAGES),
                                     _field(document, "box.country", "text"),
                                     _field(document, "ringing.cadence", "select", (*CADENCES, "custom")),
                                     _field(document, "ringing.custom", "numlist")])]
    if section == "lines":
        return [Group(f"line {line.get('id', i)}", f"lines[{i}]", [
            _field(document, f"lines[{i}].id", "text"), _field(document, f"lines[{i}].port", "text"),
            _field(document, f"lines[{i}].dialect", "select", DIALECTS),
            _field(document, f"lines[{i}].baudrate", "int"), _field(document, f"lines[{i}].rtscts", "bool"),
            _field(document, f"lines[{i}].sim_pin", "text"), _field(document, f"lines[{i}].power_pin", "int"),
            # The voice path (docs/modems.md "Line audio"), shown as a sound card when the config leaves it out.
            Field(f"lines[{i}].audio", "audio", "select", line.get("audio", "alsa"), LINE_AUDIO),
            _field(document, f"lines[{i}].audio_out", "text"), _field(document, f"lines[{i}].audio_in", "text"),
            _field(document, f"lines[{i}].audio_port", "text"),
        ], deletable=len(document.get("lines", [])) > 1) for i, line in enumerate(document.get("lines", []))]
    if section == "handsets":
        result = []
        for i, spec in enumerate(document.get("handsets", [])):
            where = f"handsets[{i}]"
            pins = HANDSET_PINS.get(spec.get("kind", "relay"), HANDSET_PINS["relay"])
            fields = [_field(document, f"{where}.{name}", "text") for name in ("id", "name", "operator")]
            fields.append(_field(document, f"{where}.kind", "select", tuple(HANDSET_PINS)))
            fields += [_field(document, f"{where}.{name}", "int") for name in pins]
            fields += [_field(document, f"{where}.audio_pins", "intmap"), _field(document, f"{where}.skills", "list")]
            result.append(Group(f"handset {spec.get('id', i)}", where, fields, deletable=True, kind="handset"))
        return result
    if section == "prompts":
        result = []
        for name, spec in document.get("prompts", {}).items():
            where = f"prompts.{name}"
            kind = "file" if isinstance(spec, dict) and "file" in spec else "text"
            fields = ([_field(document, f"{where}.file", "text")] if kind == "file" else
                      [_field(document, f"{where}.text", "textarea"),
                       _field(document, f"{where}.lang", "select", LANGUAGES)])
            result.append(Group(name, where, fields, deletable=True, kind="prompt"))
        return result
    if section == "schedule":
        fields = [_field(document, "schedule.timezone", "text"), _field(document, "schedule.always_open", "bool")]
        fields += [_field(document, f"schedule.hours.{day}", "list") for day in DAYS]
        fields.append(_field(document, "schedule.holidays", "list"))
        fields.append(_field(document, "schedule.when_time_unknown", "select", WHEN_TIME_UNKNOWN))
        return [Group("schedule", "schedule", fields)]
    if section == "flow":
        nodes = tuple(document.get("flow", {}).get("nodes", {}))
        prompts = ("", *document.get("prompts", {}))
        targets = ("", *nodes)
        result = [Group("flow", "flow", [_field(document, "flow.start", "select", nodes)])]
        for node_id, node in document.get("flow", {}).get("nodes", {}).items():
            where = f"flow.nodes.{node_id}"
            kind = node.get("type") if isinstance(node, dict) else None
            spec = NODE_TYPES.get(kind or "", {})
            fields = [_field(document, f"{where}.type", "select", tuple(NODE_TYPES))]
            for name in _node_fields(kind, node if isinstance(node, dict) else {}):
                if name in spec.get("prompts", ()):
                    fields.append(_field(document, f"{where}.{name}", "select", prompts))
                elif name in spec.get("targets", ()):
                    fields.append(_field(document, f"{where}.{name}", "select", targets))
                elif name == "keys":  # a menu's keys are rows (key → node); a language node's rows name languages
                    if kind == "language":
                        fields.append(_field(document, f"{where}.keys", "langrows", LANGUAGES))
                    else:
                        fields.append(_field(document, f"{where}.keys", "keyrows" if kind == "menu" else "map",
                                             targets[1:]))
                else:
                    fields.append(_field(document, f"{where}.{name}", "int" if name in _INTEGERS else
                                         "number" if name in _NUMBERS else "text"))
            result.append(Group(node_id, where, fields, deletable=True))
        return result
    raise KeyError(section)


_NUMBERS = {"timeout", "ring_timeout", "max_wait", "max_seconds", "silence_seconds", "min_seconds"}
_INTEGERS = {"retries", "length"}
# Optional fields worth offering even when the node leaves them out.
_OPTIONAL = {"menu": ("timeout", "retries"), "route": ("skill",)}


def _node_fields(kind: str | None, node: dict[str, Any]) -> list[str]:
    """The fields a node of this type takes (from the flow's own table), then any others it has."""
    spec = NODE_TYPES.get(kind or "", {})
    names = [*spec.get("required", ()), *spec.get("prompts", ()), *spec.get("targets", ()),
             *_OPTIONAL.get(kind or "", ()), *node]
    return [name for i, name in enumerate(names) if name != "type" and name not in names[:i]]


def _number(text: str, whole: bool) -> Any:
    try:
        return int(text) if whole or re.fullmatch(r"-?\d+", text) else float(text)
    except ValueError:
        return text  # left as typed: the check names the field and says what it needs


def parse_value(kind: str, text: str) -> Any:
    """The document value for what was typed; None means the field is left out."""
    text = text.strip()
    if kind == "bool":
        return text == "true"
    if not text:
        return None
    if kind in ("int", "number"):
        return _number(text, kind == "int")
    if kind in ("list", "intlist", "numlist"):
        items = [item.strip() for item in text.split(",") if item.strip()]
        return items if kind == "list" else [_number(item, kind == "intlist") for item in items]
    if kind == "tiers":  # "0=3, 30=1, 60=any": from the first second level 3 and up, ...
        return [{"after": _number(after, False), "min_level": level if level == "any" else _number(level, True)}
                for after, level in parse_value("map", text).items()]
    if kind in ("map", "intmap", "keyrows", "langrows"):
        table = {}
        for pair in re.split(r"[,\n]", text):
            if pair.strip():
                key, _, value = pair.partition("=")
                value = value.strip()
                table[key.strip().strip('"')] = _number(value, True) if kind == "intmap" else value
        return table
    return text


def apply(section: str, document: dict[str, Any], form: Any) -> dict[str, Any]:
    """A new document: the section's fields as the form has them; groups ticked for deletion removed."""
    new = copy.deepcopy(document)
    for group in groups(section, document):
        for field in group.fields:
            if field.kind == "keyrows" and form.get(field.path) == "rows":
                put(new, field.path, menu_rows.read(form, field.path, new) or None)
            elif field.kind == "langrows" and form.get(field.path) == "rows":
                put(new, field.path, menu_rows.read_languages(form, field.path) or None)
            elif field.path in form:  # (a menu's keys may also come as "1=node, 2=node")
                values = form.getlist(field.path)
                put(new, field.path, parse_value(field.kind, values[-1]))
    # Deleting list items from the end keeps the earlier indexes valid.
    doomed = sorted((g.path for g in groups(section, document) if form.get(f"delete:{g.path}")),
                    key=lambda p: steps(p), reverse=True)
    for path in doomed:
        put(new, path, None)
    return new


def add(section: str, document: dict[str, Any], name: str, kind: str) -> dict[str, Any]:
    """A new document with an empty item added to the section; ValueError naming a bad name."""
    new = copy.deepcopy(document)
    name = name.strip()
    if section in PEOPLE:
        from . import forms_people

        forms_people.add(section, new, name, kind)
        return new
    if section in ("prompts", "flow", "handsets", "lines"):
        identifier(name)  # the daemon's own check: ValueError with its words
    if section == "prompts":
        if name in new.get("prompts", {}):
            raise ValueError(f"there is already a prompt {name!r}")
        # Empty until the admin types it: a placeholder would be spoken (or, as "…", heard as silence).
        new.setdefault("prompts", {})[name] = {"text": "", "lang": new.get("box", {}).get("language", "en")}
    elif section == "flow":
        if kind not in NODE_TYPES:
            raise ValueError(f"node type must be one of {', '.join(NODE_TYPES)}")
        nodes = new.setdefault("flow", {}).setdefault("nodes", {})
        if name in nodes:
            raise ValueError(f"there is already a node {name!r}")
        nodes[name] = {"type": kind}
    elif section in ("handsets", "lines"):
        items = new.setdefault(section, [])
        if any(isinstance(item, dict) and item.get("id") == name for item in items):
            raise ValueError(f"there is already an item {name!r} in {section}")
        items.append({"id": name, "kind": "relay"} if section == "handsets" else
                     {"id": name, "port": "", "dialect": "auto"})
    else:
        raise ValueError(f"nothing can be added to {section}")
    return new


def with_pending(section: str, document: dict[str, Any], pending: list[str]) -> dict[str, Any]:
    """The document with the items added on the page but not saved yet ("name|type" each), in the order
    they were added, so their fields (handsets[2].ring_pin) are where the form says they are."""
    for item in pending:
        name, _, kind = item.partition("|")
        document = add(section, document, name, kind)
    return document


def created(section: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Nodes a menu row made on the spot ("new node…"): pending like an added one until saved."""
    if section != "flow":
        return []
    old = before.get("flow", {}).get("nodes", {})
    return [f"{n}|{spec.get('type', '')}" for n, spec in after.get("flow", {}).get("nodes", {}).items()
            if n not in old and isinstance(spec, dict)]


def pending_present(section: str, document: dict[str, Any], pending: list[str]) -> list[str]:
    """The pending items still in the draft: one ticked for deletion is gone and stays gone."""
    def present(name: str, kind: str) -> bool:
        if section in PEOPLE:
            from . import forms_people

            return forms_people.present(section, document, name, kind)
        if section in ("handsets", "lines"):
            return any(isinstance(item, dict) and item.get("id") == name for item in document.get(section, []))
        table = document.get("prompts", {}) if section == "prompts" else document.get("flow", {}).get("nodes", {})
        return name in table
    return [item for item in pending if present(*item.split("|", 1))]


def _belongs(problem: Problem, path: str, whole_field: bool) -> bool:
    if problem.field == path:
        return True
    return whole_field and problem.field.startswith((path + ".", path + "["))


def problems_at(problems: list[Problem], path: str, whole_field: bool = True) -> list[Problem]:
    """The problems to show next to a field (and anything inside it), or a group's own (whole_field=False)."""
    return [p for p in problems if _belongs(p, path, whole_field)]


def unplaced(problems: list[Problem], section: str, document: dict[str, Any]) -> list[Problem]:
    """Problems that belong to no field or group on this section's form: shown above it."""
    form = groups(section, document)
    return [p for p in problems
            if not any(_belongs(p, f.path, True) for g in form for f in g.fields)
            and not any(_belongs(p, g.path, False) for g in form)
            # Another section's advice (an unreachable node) is shown on its own page, not on every one.
            and (p.severity == "error" or _section_of(p.field) == section)]


def _section_of(field: str) -> str:
    top = steps(field)[0] if steps(field) else ""
    return {"box": "box", "ringing": "box", "roster": "operators"}.get(str(top), str(top))
