"""What leaves the box: the status and event payloads of docs/fleet.md, made from the daemon's own status.

Only counts and states: a caller's number (or pseudonym), an operator's name, a note or an alarm's wording
never go into a payload, unless the admin sets `share_callers` (then events carry the caller as the
privacy setting shows it live). docs/fleet.md holds the JSON schema each payload must meet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core import events as ev

SCHEMA = 1  # bumped when a field changes meaning; a subscriber reads the ones it knows

BUSY = ("ringing", "on_call", "wrap_up")


def status_payload(box: str, status: dict[str, Any], today: dict[str, Any], *, name: str, version: str,
                   at: float, dropped: int) -> dict[str, Any]:
    """The retained status document, from the daemon's `status` reply."""
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
        "schema": SCHEMA, "box": box, "name": name, "version": version, "at": round(at, 3),
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


def event_payload(item: object, *, box: str, at: float,
                  caller: Callable[[str | None], str | None] | None = None) -> dict[str, Any] | None:
    """The event a daemon item makes (None for most): call started, answered, ended or abandoned, a voicemail,
    a line down or up, without its `seq`. `caller` (share_callers only) shows a caller's number as the privacy
    setting allows."""
    head = {"schema": SCHEMA, "box": box, "at": round(at, 3)}
    body: dict[str, Any]
    match item:
        case ev.CallStarted(call_id=call, line=line):
            body = {"event": "call_started", "line": line, "call": call}
            if caller is not None:
                body["caller"] = caller(item.caller)
        case ev.CallConnected(call_id=call, handset=handset):
            body = {"event": "call_answered", "call": call, "handset": handset}
        case ev.CallEnded(record=record):
            body = {"event": "abandoned" if record.abandoned else "call_ended", "line": record.line,
                    "call": record.id, "outcome": record.outcome, "skill": record.skill,
                    "wait_seconds": _round(record.wait_seconds), "talk_seconds": _round(record.talk_seconds)}
            if caller is not None:
                body["caller"] = caller(record.caller)
        case ev.SaveVoicemail(call_id=call, seconds=seconds):
            body = {"event": "voicemail", "call": call, "seconds": round(seconds, 1)}
        case ev.LineDown(line=line, reason=reason):
            body = {"event": "line_down", "line": line, "reason": reason}
        case ev.LineUp(line=line):
            body = {"event": "line_up", "line": line}
        case _:
            return None
    return {**head, **body}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
