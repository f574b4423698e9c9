"""A line's conditional call forwarding (docs/fleet.md "Overflow through the network"): callers the box cannot
take — the line busy, not answered, or the box gone — are sent by the mobile network itself to a sibling's
number, which works without the internet and without this box."""

from __future__ import annotations

import re
from typing import Any

from ..core.problems import Problem

CONDITIONS = ("busy", "no_reply", "not_reachable")  # 27.007 +CCFC <reason> 1, 2, 3
_NUMBER = re.compile(r"\+?[0-9]{3,20}")


def parse_forwarding(spec: dict[str, Any], where: str, dialect: str, problems: list[Problem]) -> dict[str, Any]:
    """forward_to, forward_on and forward_after of one [[lines]] table, as LineConfig fields."""
    number = spec.get("forward_to")
    if number is None:
        for key in ("forward_on", "forward_after"):
            if key in spec:
                problems.append(Problem(f"{where}.{key}", "only used with forward_to", "warning"))
        return {}
    if not isinstance(number, str) or not _NUMBER.fullmatch(number):
        problems.append(Problem(f"{where}.forward_to", f"{number!r} is not a phone number like \"+79161234567\""))
        return {}
    if dialect == "v253":
        problems.append(Problem(f"{where}.forward_to", "an analogue (V.253) line cannot set the network's call "
                                                       "forwarding; ask the telephone company"))
        return {}
    found: dict[str, Any] = {"forward_to": number}
    on = spec.get("forward_on", list(CONDITIONS))
    if not isinstance(on, list) or not on or any(c not in CONDITIONS for c in on) or len(set(on)) != len(on):
        problems.append(Problem(f"{where}.forward_on", f"{on!r}: a list of {', '.join(CONDITIONS)}"))
    else:
        found["forward_on"] = tuple(on)
    after = spec.get("forward_after", 20)
    if isinstance(after, bool) or not isinstance(after, int) or after not in range(5, 31, 5):
        problems.append(Problem(f"{where}.forward_after", f"{after!r}: seconds of ringing before a call not "
                                                          "answered goes on, 5, 10, 15, 20, 25 or 30"))
    else:
        found["forward_after"] = after
    # Busy must mean busy: with the network's call waiting on, a second caller waits instead of going on.
    if spec.get("call_waiting", "off") != "off":
        problems.append(Problem(f"{where}.call_waiting", "forward_to needs call_waiting = \"off\", so that a busy "
                                                         "line sends the next caller on (leave it out: off)"))
    found["call_waiting"] = "off"
    return found
