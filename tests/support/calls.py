"""Calls as the daemon writes them, for tests that read the store: a known timeline, written the daemon's way."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from appliance.records.store.calls import CallStore

NUMBER = "+79161234567"


def timeline(start: float, *, wait: float = 8.0, talk: float = 60.0, answered: bool = True,
             survey: int | None = None, voicemail: str | None = None, callback: bool = False) -> list[dict]:
    """A queue_log-style timeline: menu key 1, queue for 'legal', h1 rings out, h2 answers (or the caller gives up)."""
    q = start + 4
    events = [
        {"at": start + 1, "event": "ANSWERED", "handset": None, "detail": None},
        {"at": start + 3, "event": "KEY", "handset": None, "detail": "1"},
        {"at": q, "event": "ENTERQUEUE", "handset": None, "detail": "legal"},
    ]
    if wait > 5:
        events.append({"at": q + 5, "event": "RINGNOANSWER", "handset": "h1", "detail": None})
    if answered:
        events += [{"at": q + wait, "event": "CONNECT", "handset": "h2", "detail": None},
                   {"at": q + wait + talk, "event": "COMPLETECALLER", "handset": "h2", "detail": None}]
    else:
        events.append({"at": q + wait, "event": "ABANDON", "handset": None, "detail": None})
    end = events[-1]["at"]
    if survey is not None:
        events.append({"at": end + 2, "event": "SURVEY", "handset": None, "detail": str(survey)})
    if voicemail:
        events.append({"at": end + 1, "event": "VOICEMAIL", "handset": None, "detail": voicemail})
    if callback:
        events.append({"at": end + 1, "event": "CALLBACK_REQUEST", "handset": None, "detail": None})
    return events


def record(call_id: str, start: float, caller: str | None = NUMBER, **shape) -> dict:
    events = timeline(start, **shape)
    answered = shape.get("answered", True)
    return {
        "id": call_id, "line": "gsm1", "caller": caller, "started_at": start, "answered_at": start + 1,
        "ended_at": events[-1]["at"] + 1, "menu_path": "1", "nodes": "welcome,menu,legal", "skill": "legal",
        "handset": "h2" if answered else None, "operator": "Boris" if answered else None,
        "wait_seconds": None, "talk_seconds": None, "outcome": "completed" if answered else "abandoned",
        "ended_by": "caller", "reason": None, "events": events,
    }


def write(store: CallStore, rec: dict) -> None:
    """As the daemon writes a call: its start, its end, then what the caller left (each as it happens)."""
    store.call_started(rec["id"], rec["line"], rec["caller"], rec["started_at"])
    store.call_ended(rec)
    for event in rec["events"]:
        if event["event"] == "VOICEMAIL":
            store.voicemail_saved(rec["id"], event["detail"], 25.0, rec["caller"], at=event["at"])
        elif event["event"] == "CALLBACK_REQUEST":
            store.callback_update(f"cb-{rec['id']}", rec["id"], rec["caller"], "waiting", 0, None, at=event["at"])


def add_calls(data: Path, ids: list[str]) -> None:
    """Finished calls written as the daemon writes them (another connection to the same WAL database)."""
    store = CallStore(data / "calls.db")
    for n, call_id in enumerate(ids):
        store.call_ended({"id": call_id, "line": "gsm1", "caller": f"+7916000000{n}", "started_at": 1000.0 + n,
                          "ended_at": 1060.0 + n, "outcome": "completed"})
    store.close()


def call_ids(data: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(data / "calls.db")) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM calls ORDER BY id")]
