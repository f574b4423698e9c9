"""The flow as a tree to draw above its forms: from the start node along every edge, each node once.

Built from the raw document, not a parsed Flow, so a flow with errors (a missing target, a bad field)
still draws, with each node's problems beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.core.flow import NODE_TYPES
from appliance.core.problems import Problem

UNREACHABLE = "unreachable: no path from the start leads here"  # the check's own words


@dataclass
class TreeNode:
    id: str
    type: str
    prompt: str | None
    problems: list[Problem]
    edges: list[Edge] = field(default_factory=list)


@dataclass
class Edge:
    label: str  # "key 1", "next", "open", "otherwise" ...
    target: str
    node: TreeNode | None = None  # drawn here: the first time the target is reached
    seen: bool = False  # reached before: drawn as a back-reference
    missing: bool = False  # names no node at all


@dataclass
class FlowTree:
    root: TreeNode | None
    unreachable: list[TreeNode]  # nodes no path from the start leads to, drawn apart
    missing_start: str | None  # flow.start naming no node


def node_problems(problems: list[Problem], node_id: str) -> list[Problem]:
    """Problems whose field is the node or anything inside it (flow.nodes.menu, flow.nodes.menu.keys.3)."""
    where = f"flow.nodes.{node_id}"
    return [p for p in problems if p.field == where or p.field.startswith((where + ".", where + "["))]


def edges_of(node: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, target) for every edge out of a raw node: its target fields, then its keys (but a language
    node's keys name languages, not nodes)."""
    kind = node.get("type")
    spec = NODE_TYPES.get(kind if isinstance(kind, str) else "", {})
    found = [(name, node[name]) for name in spec.get("targets", ()) if isinstance(node.get(name), str)]
    keys = node.get("keys")
    if kind != "language" and isinstance(keys, dict):
        found += [(f"key {key}", target) for key, target in keys.items() if isinstance(target, str)]
    return found


def build(document: dict[str, Any], problems: list[Problem]) -> FlowTree:
    flow = document.get("flow") if isinstance(document.get("flow"), dict) else {}
    raw = flow.get("nodes") if isinstance(flow.get("nodes"), dict) else {}
    nodes = {str(k): v if isinstance(v, dict) else {} for k, v in raw.items()}

    def make(node_id: str) -> TreeNode:
        node = nodes[node_id]
        prompt = node.get("prompt") if isinstance(node.get("prompt"), str) else None
        return TreeNode(node_id, str(node.get("type", "?")), prompt, node_problems(problems, node_id))

    drawn: set[str] = set()

    def grow(tree_node: TreeNode) -> None:
        # Breadth first, so a node hangs under the shortest path to it and a back-reference points upward.
        todo = [tree_node]
        drawn.add(tree_node.id)
        while todo:
            current = todo.pop(0)
            for label, target in edges_of(nodes[current.id]):
                edge = Edge(label, target)
                if target not in nodes:
                    edge.missing = True
                elif target in drawn:
                    edge.seen = True
                else:
                    drawn.add(target)
                    edge.node = make(target)
                    todo.append(edge.node)
                current.edges.append(edge)

    start = flow.get("start")
    root = None
    if isinstance(start, str) and start in nodes:
        root = make(start)
        grow(root)
    unreachable = []
    for node_id in nodes:
        if node_id not in drawn:
            island = make(node_id)
            if root and not any(p.message.startswith("unreachable") for p in island.problems):
                # The check skips reachability while any node has an error; the drawing knows anyway.
                island.problems.append(Problem(f"flow.nodes.{node_id}", UNREACHABLE, "warning"))
            grow(island)
            unreachable.append(island)
    return FlowTree(root, unreachable, None if root else str(start))
