"""The IVR flow: a graph of nodes an admin edits, parsed and checked as a whole."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import field

from appliance.core.lean import lean

from .problems import Problem

DIGITS = set("0123456789*#ABCD")

LANGUAGES = ("en", "ru")

# Which fields each node type takes; "targets" are fields naming another node.
NODE_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "play": {"required": ("prompt", "next"), "targets": ("next",), "prompts": ("prompt",)},
    "menu": {
        "required": ("prompt", "keys"),
        "targets": ("on_timeout", "on_invalid"),
        "prompts": ("prompt", "invalid_prompt", "timeout_prompt"),
    },
    "collect": {"required": ("prompt", "next"), "targets": ("next", "on_timeout"), "prompts": ("prompt",)},
    "language": {"required": ("prompt", "keys", "next"), "targets": ("next",), "prompts": ("prompt",)},
    "schedule": {"required": ("open", "closed"), "targets": ("open", "closed"), "prompts": ()},
    "branch": {"required": ("on", "match", "otherwise"), "targets": ("match", "otherwise"), "prompts": ()},
    "route": {"required": ("next",), "targets": ("next", "survey"), "prompts": ()},
    "voicemail": {"required": ("next",), "targets": ("next",), "prompts": ("prompt",)},
    "callback": {"required": ("next",), "targets": ("next",), "prompts": ("prompt",)},
    "survey": {"required": ("prompt", "next"), "targets": ("next",), "prompts": ("prompt", "thanks_prompt")},
    "sms": {"required": ("text", "next"), "targets": ("next",), "prompts": ()},
    "transfer": {"required": ("number",), "targets": ("on_fail",), "prompts": ("prompt",)},
    "hangup": {"required": (), "targets": (), "prompts": ("prompt",)},
    # The caller says what they need (speech.md); unsure, the node is the key menu of its `keys`.
    "speak": {
        "required": ("prompt", "intents"),
        "targets": ("on_timeout", "on_invalid"),
        "prompts": ("prompt", "fallback_prompt", "invalid_prompt", "timeout_prompt"),
    },
}
ENDS_CALL = ("hangup", "transfer")
BRANCH_ON = ("holiday", "caller_list", "open", "collected")
_STRINGS = (
    "prompt", "next", "invalid_prompt", "timeout_prompt", "thanks_prompt", "on_timeout", "on_invalid", "skill",
    "open", "closed", "var", "terminator", "on", "list", "match", "otherwise", "text", "number", "survey",
    "on_fail", "value", "fallback_prompt",
)
_NUMBERS = ("timeout", "max_wait", "max_seconds", "silence_seconds", "min_seconds", "threshold", "listen_seconds")
_INTEGERS = ("retries", "length")
_KNOWN_FIELDS = {"type", "keys", "intents", *_STRINGS, *_NUMBERS, *_INTEGERS}


@lean(frozen=True)
class Node:
    id: str
    type: str
    prompt: str | None = None
    next: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    timeout: float = 6.0
    retries: int = 2
    invalid_prompt: str | None = None
    timeout_prompt: str | None = None
    thanks_prompt: str | None = None
    on_timeout: str | None = None
    on_invalid: str | None = None
    skill: str | None = None
    max_wait: float = 60.0
    open: str | None = None
    closed: str | None = None
    var: str = "digits"
    length: int = 0  # collect: stop after this many digits; 0 waits for the terminator
    terminator: str = "#"
    on: str | None = None  # branch: holiday | caller_list | open | collected
    list: str | None = None
    value: str | None = None  # branch on collected: the digits to match
    match: str | None = None
    otherwise: str | None = None
    max_seconds: float = 120.0
    silence_seconds: float = 5.0
    min_seconds: float = 2.0
    text: str | None = None
    number: str | None = None
    survey: str | None = None
    on_fail: str | None = None
    # speak: the node each intent leads to -> {language: phrases a caller may say for it}
    intents: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    threshold: float = 0.3  # speak: an intent heard with less confidence (speech.md) falls back to the keys
    listen_seconds: float = 6.0  # speak: the longest answer listened to
    fallback_prompt: str | None = None  # speak: what the caller hears when not understood (the key menu)

    def targets(self) -> Iterable[str]:
        for name in NODE_TYPES[self.type]["targets"]:
            value = getattr(self, name)
            if value:
                yield value
        if self.type != "language":
            yield from self.keys.values()
        yield from self.intents


@lean(frozen=True)
class Flow:
    start: str
    nodes: dict[str, Node]

    def __getitem__(self, node_id: str) -> Node:
        return self.nodes[node_id]


def parse_flow(doc: object, prompts: Iterable[str], where: str = "flow") -> tuple[Flow | None, list[Problem]]:
    """Parse the [flow] table; every problem names the node and field at fault."""
    if not isinstance(doc, dict):
        return None, [Problem(where, "missing: the box needs a flow to answer calls")]
    problems: list[Problem] = []
    known_prompts = set(prompts)
    raw_nodes = doc.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        return None, [Problem(f"{where}.nodes", "the flow has no nodes")]
    nodes: dict[str, Node] = {}
    for node_id, raw in raw_nodes.items():
        node, node_problems = _parse_node(str(node_id), raw, known_prompts, set(raw_nodes), f"{where}.nodes.{node_id}")
        problems += node_problems
        if node:
            nodes[node.id] = node
    start = doc.get("start")
    if not isinstance(start, str) or start not in raw_nodes:
        problems.append(Problem(f"{where}.start", f"names no node: {start!r}"))
    if isinstance(start, str) and start in nodes and len(nodes) == len(raw_nodes):
        reachable = _reachable(start, nodes)
        for node_id in nodes:
            if node_id not in reachable:
                # Advice, not a refusal: a node built before the key that leads to it must be savable.
                problems.append(Problem(f"{where}.nodes.{node_id}", "unreachable: no path from the start leads here",
                                        "warning"))
        ending = _can_end(nodes)
        for node_id in sorted(reachable - ending):
            problems.append(Problem(f"{where}.nodes.{node_id}",
                                    "a loop without an exit: no path from here reaches a hangup or transfer"))
        for node_id, depth in _menu_depths(start, nodes).items():
            if depth > 3:
                problems.append(Problem(f"{where}.nodes.{node_id}",
                                        f"menu {depth} levels deep: callers get lost past three", "warning"))
    if problems and any(p.severity == "error" for p in problems):
        return None, problems
    return Flow(start=str(start), nodes=nodes), problems


def _parse_node(
    node_id: str, raw: object, prompts: set[str], node_ids: set[str], where: str
) -> tuple[Node | None, list[Problem]]:
    if not isinstance(raw, dict):
        return None, [Problem(where, "must be a table")]
    kind = raw.get("type")
    if kind not in NODE_TYPES:
        return None, [Problem(f"{where}.type", f"unknown node type {kind!r}; use one of {', '.join(NODE_TYPES)}")]
    problems = [Problem(f"{where}.{name}", "unknown field") for name in raw if name not in _KNOWN_FIELDS]
    spec = NODE_TYPES[kind]
    for name in spec["required"]:
        if name not in raw:
            problems.append(Problem(f"{where}.{name}", f"a {kind} node needs it"))
    for name in spec["prompts"]:
        value = raw.get(name)
        if isinstance(value, str) and value not in prompts:
            problems.append(Problem(f"{where}.{name}", f"names a missing prompt {value!r}"))
    keys = raw.get("keys", {})
    if not isinstance(keys, dict):
        problems.append(Problem(f"{where}.keys", "must be a table of key = node"))
        keys = {}
    for key, target in keys.items():
        if len(str(key)) != 1 or str(key) not in DIGITS:
            problems.append(Problem(f"{where}.keys.{key}", "a key is one of 0-9, *, #, A-D"))
        if kind == "language":
            if target not in LANGUAGES:
                problems.append(Problem(f"{where}.keys.{key}", f"{target!r} is not one of {', '.join(LANGUAGES)}"))
        elif target not in node_ids:
            problems.append(Problem(f"{where}.keys.{key}", f"names a missing node {target!r}"))
    for name in spec["targets"]:
        target = raw.get(name)
        if isinstance(target, str) and target not in node_ids:
            problems.append(Problem(f"{where}.{name}", f"names a missing node {target!r}"))
    if kind == "menu" and len(keys) > 5:
        problems.append(Problem(f"{where}.keys", f"{len(keys)} options: callers get lost past five", "warning"))
    for name in (*_NUMBERS, *_INTEGERS):
        kinds = (int,) if name in _INTEGERS else (int, float)
        if name in raw and (not isinstance(raw[name], kinds) or isinstance(raw[name], bool) or raw[name] < 0):
            problems.append(Problem(f"{where}.{name}", "must be a non-negative " + (
                "whole number" if name in _INTEGERS else "number")))
    for name in _STRINGS:
        if name in raw and not isinstance(raw[name], str):
            problems.append(Problem(f"{where}.{name}", "must be a string"))
    if kind == "branch" and raw.get("on") not in BRANCH_ON:
        problems.append(Problem(f"{where}.on", f"{raw.get('on')!r} is not one of {', '.join(BRANCH_ON)}"))
    if kind == "branch" and raw.get("on") == "caller_list" and not raw.get("list"):
        problems.append(Problem(f"{where}.list", "a caller_list branch names the list to check"))
    if kind == "collect" and not raw.get("length") and raw.get("terminator", "#") not in DIGITS:
        problems.append(Problem(f"{where}.terminator", "needs a key (usually #) when no length is set"))
    intents = _parse_intents(raw.get("intents", {}), node_ids, f"{where}.intents", problems)
    if kind == "speak" and "threshold" in raw and isinstance(raw["threshold"], int | float) and raw["threshold"] > 1:
        problems.append(Problem(f"{where}.threshold", "a confidence from 0 to 1"))
    if kind == "survey" and set(str(k) for k in keys) - set("12345"):
        problems.append(Problem(f"{where}.keys", "a survey takes the keys 1 to 5 and needs no keys table"))
    if any(p.severity == "error" for p in problems):
        return None, problems
    values = {k: v for k, v in raw.items() if k != "type"}
    values["keys"] = {str(k): str(v) for k, v in keys.items()}
    values["intents"] = intents
    return Node(id=node_id, type=kind, **values), problems


def _parse_intents(raw: object, node_ids: set[str], where: str,
                   problems: list[Problem]) -> dict[str, dict[str, tuple[str, ...]]]:
    """A speak node's intents: node id -> {language: phrases}, each phrase a few plain words."""
    if not isinstance(raw, dict):
        problems.append(Problem(where, "must be a table of node = {language = [phrases]}"))
        return {}
    intents: dict[str, dict[str, tuple[str, ...]]] = {}
    for target, languages in raw.items():
        here = f"{where}.{target}"
        if target not in node_ids:
            problems.append(Problem(here, f"names a missing node {target!r}"))
        if not isinstance(languages, dict) or not languages:
            problems.append(Problem(here, "must be a table of language = [phrases]"))
            continue
        intents[str(target)] = {}
        for language, phrases in languages.items():
            if language not in LANGUAGES:
                problems.append(Problem(f"{here}.{language}", f"{language!r} is not one of {', '.join(LANGUAGES)}"))
            elif (not isinstance(phrases, list) or not phrases
                  or not all(isinstance(p, str) and p.strip() for p in phrases)):
                problems.append(Problem(f"{here}.{language}", "must be a list of phrases (words a caller says)"))
            else:
                intents[str(target)][language] = tuple(" ".join(p.lower().split()) for p in phrases)
    return intents


def _can_end(nodes: dict[str, Node]) -> set[str]:
    """Nodes from which some path ends the call; a menu without on_timeout ends it after its retries."""
    ending = {n.id for n in nodes.values()
              if n.type in ENDS_CALL or (n.type in ("menu", "speak") and not n.on_timeout)}
    changed = True
    while changed:
        changed = False
        for node in nodes.values():
            if node.id not in ending and any(t in ending for t in node.targets()):
                ending.add(node.id)
                changed = True
    return ending


def _menu_depths(start: str, nodes: dict[str, Node]) -> dict[str, int]:
    """How many menus deep each menu sits on the shortest path from the start."""
    depths: dict[str, int] = {}
    todo = [(start, 0)]
    seen: set[str] = set()
    while todo:
        node_id, depth = todo.pop(0)
        if node_id in seen or node_id not in nodes:
            continue
        seen.add(node_id)
        node = nodes[node_id]
        if node.type in ("menu", "speak"):
            depth += 1
            depths[node_id] = depth
        todo.extend((target, depth) for target in node.targets())
    return depths


def _reachable(start: str, nodes: dict[str, Node]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in nodes:
            continue
        seen.add(node_id)
        todo.extend(nodes[node_id].targets())
    return seen
