"""What leaves the box: the status and event payloads of docs/fleet.md, made from the daemon's own status.

Only counts and states: a caller's number (or pseudonym), an operator's name, a note or an alarm's wording
never go into a payload, unless the admin sets `share_callers` (then events carry the caller as the
privacy setting shows it live). docs/fleet.md holds the JSON schema each payload must meet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..core.box_events import BoxEvent
from ..core.events import MoveAnnounced
from ..core.siblings import Sibling
from ..records.privacy import PSEUDONYM_PREFIX, has_digits, is_protected, mask

SCHEMA = 1  # bumped when a field changes meaning; a subscriber reads the ones it knows
WORD = 64  # longest text field a sibling's `moves` message may carry (a call id is 32 hex digits)

BUSY = ("ringing", "on_call", "wrap_up")


def status_payload(box: str, status: dict[str, Any], today: dict[str, Any], *, name: str, version: str,
                   at: float, dropped: int, numbers: tuple[str, ...] = ()) -> dict[str, Any]:
    """The retained status document, from the daemon's `status` reply; `numbers` are the box's own ([fleet]
    numbers): where siblings move waiting callers to, and the caller IDs its lines show."""
    operators = {"free": 0, "busy": 0, "paused": 0, "logged_out": 0}
    for operator in status["operators"]:
        state = operator["state"]
        operators["free" if state == "available" else "busy" if state in BUSY else state] += 1
    free_skills: dict[str, int] = {}
    for handset in status["handsets"]:
        if handset["operator_state"] == "available":
            for skill in handset["skills"]:
                free_skills[skill] = free_skills.get(skill, 0) + 1
    waits = [w["seconds"] for w in status["waiting"] if not w["callback"]]
    return {
        "schema": SCHEMA, "box": box, "name": name, "version": version, "at": round(at, 3), "numbers": list(numbers),
        "open": status["schedule"]["open"],
        "lines": [_line(line) for line in status["lines"]],
        "operators": operators, "free_skills": free_skills,
        "calls": len(status["calls"]),
        "waiting": {"callers": len(waits), "longest_seconds": max(waits, default=0.0),
                    "callbacks": len(status["waiting"]) - len(waits)},
        "today": today,
        "alarms": [{"id": a["id"], "severity": a["severity"]} for a in status["alarms"]],
        "events_dropped": dropped,
    }


def _line(line: dict[str, Any]) -> dict[str, Any]:
    modem = line.get("modem") or {}
    return {"id": line["id"], "state": line["state"], "busy": line["call"] is not None,
            "signal_bars": modem.get("signal_bars")}


def same_status(a: dict[str, Any] | None, b: dict[str, Any]) -> bool:
    """Whether `b` says nothing new against `a` (the moment of sending aside)."""
    return a is not None and {**a, "at": None} == {**b, "at": None}


def sibling(entry: dict[str, Any]) -> Sibling | None:
    """What a sibling's retained status offers for moving callers (core/moves.py); None before its first status."""
    status = entry["status"]
    if status is None:
        return None
    numbers = [n for n in status.get("numbers") or [] if isinstance(n, str)]
    operators = status.get("operators") or {}
    skills = status.get("free_skills") or {}
    return Sibling(entry["box"], tuple(numbers), free=_count(operators.get("free")),
                   free_skills={str(k): _count(v) for k, v in skills.items() if _count(v)} if isinstance(
                       skills, dict) else {},
                   taking=entry["online"] is True and status.get("open") is True)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


# The hook's happenings (core/box_events.py) a sibling or a head office hears of, each with the fields that
# may leave the box: never a number (unless share_callers), an operator's name, a recording's path or a text.
EVENT_FIELDS = {
    "call_started": ("line", "call_id"),
    "call_answered": ("call_id", "handset"),
    "call_ended": ("line", "call_id", "outcome", "wait_seconds"),
    "abandoned": ("call_id", "wait_seconds"),
    "voicemail": ("call_id", "seconds"),
    "line_down": ("line", "reason"),
    "line_up": ("line",),
}


def event_payload(event: BoxEvent, *, box: str,
                  caller: Callable[[str | None], str | None] | None = None) -> dict[str, Any] | None:
    """The message a happening makes (None for those that stay on the box), without its `seq`. `caller`
    (share_callers only) shows the caller's number as the privacy setting allows, where the event has one."""
    fields = EVENT_FIELDS.get(event.kind)
    if fields is None:
        return None
    payload = {"schema": SCHEMA, "box": box, "at": round(event.at, 3), "event": event.kind}
    for name in fields:
        value = event.data.get(name)
        payload["call" if name == "call_id" else name] = _round(value) if isinstance(value, float) else value
    if caller is not None and "caller" in event.data:
        payload["caller"] = caller(event.data["caller"])
    return payload


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def move_payload(event: BoxEvent, *, box: str,
                 caller: Callable[[str | None], str | None] | None = None) -> dict[str, Any]:
    """A caller this box is moving to sibling `to` (docs/fleet.md, topic `moves`). The caller's number crosses
    the network only with share_callers, and then masked whatever the privacy mode: a full number is masked here,
    a pseudonym stays home (it means nothing to another box, and would link the caller's calls there)."""
    data = event.data
    shown = caller(data.get("caller")) if caller is not None and data.get("caller") else None
    if shown is not None and (shown.startswith(PSEUDONYM_PREFIX) or not has_digits(shown)):
        shown = None
    elif shown is not None and not is_protected(shown):
        shown = mask(shown)
    return {"schema": SCHEMA, "box": box, "to": data["to"], "at": round(event.at, 3), "call": data["call_id"],
            "off": bool(data.get("off")), "landed": bool(data.get("landed")), "skill": data.get("skill"),
            "language": data.get("language"), "waited_seconds": _round(float(data.get("waited") or 0.0)),
            "caller": shown}


def move_announced(payload: bytes, *, here: str) -> MoveAnnounced | None:
    """A sibling's `moves` message, if it names this box and reads right (anything else is ignored)."""
    try:
        message = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("to") != here or not isinstance(message.get("box"), str) \
            or message["box"] == here or not isinstance(message.get("call"), str):
        return None
    # What a sibling says goes into this box's timeline: a skill, a language code, a masked number, each short.
    text = {key: value if isinstance(value := message.get(key), str) and len(value) <= WORD else None
            for key in ("skill", "language", "caller")}
    if len(message["call"]) > WORD:
        return None
    waited = message.get("waited_seconds")
    return MoveAnnounced(message["box"], message["call"], text["skill"], text["language"],
                         float(waited) if isinstance(waited, int | float) and not isinstance(waited, bool) else 0.0,
                         text["caller"], message.get("off") is True, message.get("landed") is True)
