"""Any flow an admin (or a broken web form) can write gets a Config or a list of problems naming fields.

Hypothesis writes flow documents from the node types, field names, node and prompt names the
validator knows, with values of every shape (right and wrong types, missing, dangling, junk keys),
and sometimes junk in another section too. The checker must never raise.
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance import config as configuration
from appliance.core.flow import NODE_TYPES
from appliance.core.problems import Problem

BASE = configuration.default_document()
PROMPTS = sorted(BASE["prompts"])
SECTIONS = {"box", "ringing", "lines", "handsets", "schedule", "prompts", "flow", "operators", "roster", "queue",
            "callbacks", "callers", "privacy", "retention", "webhooks", "recording"}
FIELDS = ("prompt", "next", "keys", "timeout", "retries", "invalid_prompt", "timeout_prompt", "thanks_prompt",
          "on_timeout", "on_invalid", "skill", "max_wait", "open", "closed", "var", "length", "terminator", "on",
          "list", "value", "match", "otherwise", "max_seconds", "silence_seconds", "min_seconds", "text", "number",
          "survey", "on_fail", "bogus")
NODE_NAMES = ("start", "menu", "route", "bye", "x", "")

scalars = st.one_of(
    st.sampled_from(NODE_NAMES), st.sampled_from(PROMPTS), st.sampled_from(sorted(NODE_TYPES)),
    st.integers(-5, 500), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(max_size=12), st.sampled_from(["general", "legal", "holiday", "open", "#", "+79161234567"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3),
                   st.dictionaries(st.sampled_from(list("0129*#A") + ["10", "x"]), scalars, max_size=4))
nodes = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(sorted(NODE_TYPES)), scalars)},
    optional={name: values for name in FIELDS},
)
flows = st.one_of(
    st.fixed_dictionaries({"start": st.one_of(st.sampled_from(NODE_NAMES), scalars),
                           "nodes": st.dictionaries(st.sampled_from(NODE_NAMES), st.one_of(nodes, values),
                                                    max_size=6)}),
    values,
)
other_junk = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(sorted(SECTIONS - {"flow"}) + ["nonsense"]), values),
)


def field_names_a_section(problem: Problem) -> bool:
    head = problem.field.split(".")[0].split("[")[0]
    return head in SECTIONS or head == "nonsense"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=flows, junk=other_junk)
def test_any_flow_gets_a_config_or_problems_naming_fields(flow, junk):
    document = copy.deepcopy(BASE)
    document["flow"] = flow
    if junk is not None:
        document[junk[0]] = junk[1]
    config, problems = configuration.check(document, simulated=True, check_devices=False)
    assert all(isinstance(p, Problem) and isinstance(p.field, str) and p.field for p in problems)
    assert all(isinstance(p.message, str) and p.message for p in problems)
    assert all(field_names_a_section(p) for p in problems), problems
    errors = [p for p in problems if p.severity == "error"]
    if config is None:
        assert errors, "a refused config must say why"
    else:
        assert not errors
        assert config.flow.start in config.flow.nodes
        assert all(target in config.flow.nodes for node in config.flow.nodes.values() for target in node.targets())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.sampled_from(["menu", "bye"]), key=st.sampled_from(list("0123456789*#")),
       max_wait=st.integers(1, 600), timeout=st.integers(1, 30))
def test_valid_small_flows_are_accepted(start, key, max_wait, timeout):
    """The generator above is not all junk: flows built from valid parts come back as a Config."""
    document = copy.deepcopy(BASE)
    document["flow"] = {"start": start, "nodes": {
        "menu": {"type": "menu", "prompt": "main_menu", "keys": {key: "route"}, "timeout": timeout,
                 "on_timeout": "bye"},
        "route": {"type": "route", "skill": "general", "max_wait": max_wait, "next": "bye"},
        "bye": {"type": "hangup"},
    }}
    config, problems = configuration.check(document, simulated=True, check_devices=False)
    if start == "menu":
        assert config is not None, problems
        assert config.flow.nodes["route"].max_wait == max_wait
    else:  # the menu cannot be reached from a start that hangs up at once: saved, with a warning on it
        assert config is not None and any(p.field == "flow.nodes.menu" and p.severity == "warning"
                                          for p in problems), problems


@pytest.mark.parametrize("value", [[], ["main_menu"], {"a": 1}])
def test_a_prompt_field_holding_a_list_is_a_problem(value):
    document = copy.deepcopy(BASE)
    document["flow"]["nodes"]["menu"]["prompt"] = value
    config, problems = configuration.check(document, simulated=True, check_devices=False)
    assert config is None
    assert any(p.field == "flow.nodes.menu.prompt" for p in problems), problems
