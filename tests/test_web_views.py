"""The drawn pages against a real daemon: the flow tree with its problems, the schedule calendar."""

from __future__ import annotations

import re
from html import unescape

from test_web import _csrf, _token, admin, app, box  # noqa: F401 (fixtures)


def _node_box(page: str, node_id: str) -> str:
    """The tree's box for one node, with the problems listed under it."""
    found = re.search(rf'<a class="node[^"]*" id="tree-{node_id}".*?(?=<a class="node|</section>)', page, re.S)
    assert found, f"no box for {node_id} in the flow tree"
    return found.group(0)


def test_the_flow_tree_marks_a_missing_target_and_an_unreachable_node(admin, box):  # noqa: F811
    daemon, _ = box
    form = admin.get("/config/flow").text
    assert 'id="flow-tree"' in form and 'href="#group-flow.nodes.menu"' in form
    # The schedule's closed branch now goes to "busy", so nothing leads to after_hours; key 9 leads nowhere.
    reply = admin.post("/config/flow", data={
        "csrf_token": _token(form), "flow.nodes.hours.closed": "busy",
        "flow.nodes.menu.keys": "1=legal, 2=psychology, 3=message, 0=anyone, 9=nowhere"})
    assert reply.status_code == 400
    page = reply.text
    menu = _node_box(page, "menu")
    assert 'class="node bad"' in menu and "missing node &#39;nowhere&#39;" in menu
    assert "flow.nodes.menu.keys.9" in unescape(re.search(r'title="([^"]*)"', menu).group(1))
    orphan = _node_box(page, "after_hours")
    assert 'class="node bad"' in orphan and "unreachable" in orphan
    assert page.index("Not reachable from the start") < page.index('id="tree-after_hours"')
    # Drawn once each: "thanks" is reached from three nodes, the others point back at it.
    assert page.count('id="tree-thanks"') == 1 and page.count('href="#tree-thanks"') >= 2
    assert 'class="node"' in _node_box(page, "welcome")  # a clean node is not red
    assert daemon.core.flow["hours"].closed == "after_hours"  # nothing was applied
