"""The IVR flow: a graph of nodes an admin edits, parsed and checked as a whole."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .problems import Problem

DIGITS = set("0123456789*#ABCD")

# Which fields each node type takes; "targets" are fields naming another node.
NODE_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "play": {"required": ("prompt", "next"), "targets": ("next",), "prompts": ("prompt",)},
    "menu": {
        "required": ("prompt", "keys"),
        "targets": ("on_timeout", "on_invalid"),
        "prompts": ("prompt", "invalid_prompt"),
    },
    "schedule": {"required": ("open", "closed"), "targets": ("open", "closed"), "prompts": ()},
    "route": {"required": ("next",), "targets": ("next",), "prompts": ()},
    "hangup": {"required": (), "targets": (), "prompts": ()},
}
_KNOWN_FIELDS = {
    "type", "prompt", "next", "keys", "timeout", "retries", "invalid_prompt", "on_timeout", "on_invalid",
    "skill", "ring_timeout", "open", "closed",
}


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    prompt: str | None = None
    next: str | None = None
    keys: dict[str, str] = field(default_factory=dict)
    timeout: float = 6.0
    retries: int = 2
    invalid_prompt: str | None = None
    on_timeout: str | None = None
    on_invalid: str | None = None
    skill: str | None = None
    ring_timeout: float = 30.0
    open: str | None = None
    closed: str | None = None

    def targets(self) -> Iterable[str]:
        for name in NODE_TYPES[self.type]["targets"]:
            value = getattr(self, name)
            if value:
                yield value
        yield from self.keys.values()


@dataclass(frozen=True)
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
    if isinstance(start, str) and start in nodes:
        reachable = _reachable(start, nodes)
        for node_id in nodes:
            if node_id not in reachable:
                problems.append(Problem(f"{where}.nodes.{node_id}", "unreachable: no path from the start leads here"))
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
        if value is not None and value not in prompts:
            problems.append(Problem(f"{where}.{name}", f"names a missing prompt {value!r}"))
    keys = raw.get("keys", {})
    if not isinstance(keys, dict):
        problems.append(Problem(f"{where}.keys", "must be a table of key = node"))
        keys = {}
    for key, target in keys.items():
        if len(str(key)) != 1 or str(key) not in DIGITS:
            problems.append(Problem(f"{where}.keys.{key}", "a key is one of 0-9, *, #, A-D"))
        if target not in node_ids:
            problems.append(Problem(f"{where}.keys.{key}", f"names a missing node {target!r}"))
    for name in spec["targets"]:
        target = raw.get(name)
        if isinstance(target, str) and target not in node_ids:
            problems.append(Problem(f"{where}.{name}", f"names a missing node {target!r}"))
    if kind == "menu" and len(keys) > 5:
        problems.append(Problem(f"{where}.keys", f"{len(keys)} options: callers get lost past five", "warning"))
    for name, kinds in (("timeout", (int, float)), ("ring_timeout", (int, float)), ("retries", (int,))):
        if name in raw and (not isinstance(raw[name], kinds) or isinstance(raw[name], bool) or raw[name] < 0):
            problems.append(Problem(f"{where}.{name}", "must be a non-negative number"))
    for name in ("prompt", "next", "invalid_prompt", "on_timeout", "on_invalid", "skill", "open", "closed"):
        if name in raw and not isinstance(raw[name], str):
            problems.append(Problem(f"{where}.{name}", "must be a string"))
    if problems:
        return None, problems
    values = {k: v for k, v in raw.items() if k != "type"}
    values["keys"] = {str(k): str(v) for k, v in keys.items()}
    return Node(id=node_id, type=kind, **values), []


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
