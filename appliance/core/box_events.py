"""What happened on the box, by name, for whoever outside the call logic wants to hear of it (alerts, fleet).

The daemon's loop passes every event it takes and every action it carries out through `BoxEvents.seen`;
the few that mean something to an outsider come out as a `BoxEvent(kind, at, data)`. Numbers in `data` are
as the core knows them (in full): each listener passes them through the privacy rule of the place it puts
them. Pure: the caller gives the wall time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from appliance.core.lean import lean

from . import events as ev

KINDS = ("voicemail", "abandoned", "callback_due", "line_down", "line_up", "low_balance", "disk_low",
         "service_level", "emergency_on", "call_started", "call_answered", "call_ended", "sms_received",
         "sms_result", "box_offline", "sibling_line_down",  # a sibling box of the fleet, told by appliance/fleet
         "transcript")  # a voicemail's text, made after the call: completes its voicemail alert, never one itself
SERVICE_LEVEL_SECONDS = 20.0  # answered within this long counts as in service level (as the statistics page)
SERVICE_LEVEL_TARGET = 0.8  # below this share of the last calls: breached
SERVICE_LEVEL_CALLS = 10  # judged over the last this many calls offered to the queue


@lean(frozen=True)
class BoxEvent:
    kind: str
    at: float  # wall-clock stamp
    data: Mapping[str, Any] = field(default_factory=dict)


class BoxEvents:
    """Turns the loop's events and actions into happenings; keeps the little state the service level needs."""

    def __init__(self) -> None:
        self._queued: deque[bool] = deque(maxlen=SERVICE_LEVEL_CALLS)  # each queued call: answered in time?
        self._breached = False

    def seen(self, item: object, at: float) -> list[BoxEvent]:
        match item:
            case ev.SaveVoicemail():
                return [BoxEvent("voicemail", at, {"call_id": item.call_id, "path": item.path,
                                                    "seconds": item.seconds, "caller": item.caller})]
            case ev.SaveCallback(state="waiting", attempts=0):
                return [BoxEvent("callback_due", at, {"request_id": item.request_id, "number": item.number})]
            case ev.LineDown():
                return [BoxEvent("line_down", at, {"line": item.line, "reason": item.reason})]
            case ev.LineUp():
                return [BoxEvent("line_up", at, {"line": item.line})]
            case ev.CallStarted():
                return [BoxEvent("call_started", at, {"call_id": item.call_id, "line": item.line,
                                                       "caller": item.caller})]
            case ev.CallConnected():
                return [BoxEvent("call_answered", at, {"call_id": item.call_id, "handset": item.handset,
                                                        "operator": item.operator})]
            case ev.CallEnded(record=record):
                return self._ended(record, at)
            case ev.SmsReceived():
                return [BoxEvent("sms_received", at, {"line": item.line, "sender": item.sender, "text": item.text})]
            case ev.Transcribed():
                return [BoxEvent("transcript", at, {"call_id": item.call_id, "text": item.text,
                                                     "reason": item.reason})]
            case ev.AnnounceMove():  # for the fleet link (appliance/fleet): never an alert
                return [BoxEvent("call_moving", at, {"to": item.to, "call_id": item.call_id, "skill": item.skill,
                                                      "language": item.language, "waited": item.waited,
                                                      "caller": item.caller, "off": item.off,
                                                      "landed": item.landed})]
            case ev.SmsResult():
                return [BoxEvent("sms_result", at, {"line": item.line, "number": item.number, "ok": item.ok,
                                                     "reason": item.reason})]
        return []

    def _ended(self, record: Any, at: float) -> list[BoxEvent]:
        found = [BoxEvent("call_ended", at, {"call_id": record.id, "line": record.line, "outcome": record.outcome,
                                              "wait_seconds": record.wait_seconds})]
        if record.outcome == "abandoned":
            found.append(BoxEvent("abandoned", at, {"call_id": record.id, "caller": record.caller,
                                                     "wait_seconds": record.wait_seconds}))
        if record.queued_at is None:
            return found  # never offered to an operator: not the queue's service level
        wait = record.wait_seconds
        self._queued.append(record.connected_at is not None and wait is not None and wait <= SERVICE_LEVEL_SECONDS)
        if len(self._queued) == self._queued.maxlen:
            share = sum(self._queued) / len(self._queued)
            if share < SERVICE_LEVEL_TARGET and not self._breached:
                found.append(BoxEvent("service_level", at, {"share": share, "calls": len(self._queued),
                                                             "seconds": SERVICE_LEVEL_SECONDS}))
            self._breached = share < SERVICE_LEVEL_TARGET  # told again only after it recovered
        return found
