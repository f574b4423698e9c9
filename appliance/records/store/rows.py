"""A call record from the core (or from a heartbeat) folded into the row the call log keeps: pure functions."""

from __future__ import annotations

import json
from typing import Any

from .lite import as_stored

CALL_COLUMNS = (
    "id", "line", "caller", "started_at", "answered_at", "ended_at", "menu_path", "nodes", "skill", "handset",
    "operator", "wait_seconds", "talk_seconds", "outcome", "ended_by", "reason", "call_type", "category",
)
MILESTONES = ("queued_at", "connected_at")  # carried by a record the core finished (core.record.CallRecord)
NOT_EXTRA = {*CALL_COLUMNS, *MILESTONES, "events", "recordings"}
# A call's connection and its end write its row with one statement text, each column given or kept as it is:
# SQLite compiles the rollup triggers (rollups.py) into each statement that can fire them and keeps that program
# with each cached statement (~0.2 MB), so one text holds one copy for the daemon's life (docs/proof.md, stmts).
ROW_COLUMNS = (*CALL_COLUMNS[1:], *MILESTONES, "caller_key", "survey_score", "extra", "last_alive", "progress")
REWRITE = f"UPDATE calls SET {', '.join(f'{c} = CASE WHEN ? THEN {c} ELSE ? END' for c in ROW_COLUMNS)} WHERE id = ?"


def rewritten(call_id: str, changes: dict[str, Any]) -> list[Any]:
    """REWRITE's parameters writing `changes` over a call's row (each other column given back as it is)."""
    unknown = set(changes) - {"id", *ROW_COLUMNS}
    if unknown:  # a column added to the record but not here would be dropped without a word
        raise ValueError(f"call {call_id}: no such column in a call's row: {', '.join(sorted(unknown))}")
    given: list[Any] = []
    for column in ROW_COLUMNS:
        given += (0, as_stored(changes[column])) if column in changes else (1, None)
    return [*given, call_id]


def interrupted_record(known: dict, *, last_alive: float | None, connected_at: float | None,
                       handset: str | None, operator: str | None) -> dict:
    """The record of a call a crash cut: what its last heartbeat knew (`known`), ending when it was last alive.

    `connected_at`, `handset` and `operator` are what `call_connected` wrote, perhaps after the last heartbeat.
    """
    record = {k: v for k, v in known.items() if k not in MILESTONES}  # folded from the timeline up to `end`
    events = record["events"] = list(record.get("events") or ())
    if connected_at is not None and not any(e.get("event") == "CONNECT" for e in events):
        # Taken by an operator after the last heartbeat: the timeline says so too.
        events.append({"at": connected_at, "event": "CONNECT", "handset": handset, "detail": operator})
        record.update(handset=handset, operator=operator)
    end = max(t for t in (record["started_at"], last_alive, connected_at) if t is not None)
    record.update(ended_at=end, wait_seconds=None, talk_seconds=None,  # folded from the timeline up to `end`
                  outcome="interrupted", ended_by="system", recordings=None)
    return record


def call_row(record: dict) -> tuple[dict, list[dict]]:
    """Check a record and make it the call row; ValueError names the bad field.

    A record the core finished carries its milestones, durations and survey score: they are written as they
    are. Only a record without them (a call a crash cut, a record from elsewhere) has them folded from its
    timeline.
    """
    if not isinstance(record.get("id"), str) or not record["id"]:
        raise ValueError("call record has no id")
    if not isinstance(record.get("started_at"), int | float):
        raise ValueError(f"call {record['id']}: started_at must be epoch seconds")
    events = []
    for n, event in enumerate(record.get("events") or ()):
        name, at = event.get("event"), event.get("at")
        if not isinstance(name, str) or not name or not isinstance(at, int | float):
            raise ValueError(f"call {record['id']}: event {n} needs an 'event' name and an 'at' time: {event!r}")
        detail = event.get("detail")
        if name == "SURVEY" and str(detail) not in {"1", "2", "3", "4", "5"}:
            raise ValueError(f"call {record['id']}: survey score {detail!r} is not 1-5")
        events.append({"at": float(at), "event": name, "handset": event.get("handset"),
                       "detail": None if detail is None else str(detail)})
    events.sort(key=lambda e: e["at"])
    row = {column: record.get(column) for column in CALL_COLUMNS}
    for column in ("call_type", "category"):  # set by operators, possibly while the call was still going
        if row[column] is None:
            del row[column]
    extra = {k: v for k, v in record.items() if k not in NOT_EXTRA}
    row["extra"] = json.dumps(extra, default=str) if extra else None
    if all(name in record for name in MILESTONES):
        row["queued_at"], row["connected_at"] = record["queued_at"], record["connected_at"]
        row["survey_score"] = record.get("survey_score")
        return row, events
    return _fold_timeline(row, events), events


def _fold_timeline(row: dict, events: list[dict]) -> dict:
    """Milestones, durations, outcome and survey score of a record that lacks them, from its timeline."""

    def first(name: str) -> float | None:
        return next((e["at"] for e in events if e["event"] == name), None)

    end = row["ended_at"]
    queued, connected = first("ENTERQUEUE"), first("CONNECT")
    if not events:  # a record from a core without a timeline: milestones from its durations
        if row["talk_seconds"] is not None and end is not None:
            connected = end - row["talk_seconds"]
        if row["wait_seconds"] is not None and (connected or end) is not None:
            queued = (connected or end) - row["wait_seconds"]
    row["queued_at"], row["connected_at"] = queued, connected
    if row["wait_seconds"] is None and queued is not None:
        row["wait_seconds"] = round((connected or first("ABANDON") or end or queued) - queued, 3)
    hangup = next((e["at"] for e in events if e["event"] in ("COMPLETECALLER", "COMPLETEAGENT", "TRANSFER")), end)
    if row["talk_seconds"] is None and connected is not None and hangup is not None:
        row["talk_seconds"] = round(hangup - connected, 3)
    if row["outcome"] is None and first("ABANDON") is not None:
        row["outcome"] = "abandoned"
    scores = [int(e["detail"]) for e in events if e["event"] == "SURVEY"]
    row["survey_score"] = scores[-1] if scores else None
    return row
