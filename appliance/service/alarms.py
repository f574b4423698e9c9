"""Alarms: conditions an admin must see and act on, one list in the daemon's status.

Any part of the daemon sets an alarm under a stable id while a condition lasts
("disk.low", "disk.write", "maintenance.retention", ...) and clears it when the
condition ends. The list travels in the `status` reply as
`[{id, severity, text, since}]`; the dashboard shows it and `hotline check`
prints it. See docs/alarms.md.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..core.moves import same_number

log = logging.getLogger(__name__)

SEVERITIES = ("warning", "error")  # warning: act soon; error: the box is losing something now


class Alarms:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._alarms: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()  # adapter threads (the webhook sender) may set alarms too
        self.on_raise: Callable[[str, str], None] | None = None  # (id, text) of an alarm newly raised: the event hook

    def set(self, alarm_id: str, severity: str, text: str) -> None:
        """Raise or update an alarm; `since` stays the moment it was first raised."""
        if severity not in SEVERITIES:
            raise ValueError(f"alarm severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
        with self._lock:
            old = self._alarms.get(alarm_id)
            if old is not None and (old["severity"], old["text"]) == (severity, text):
                return
            since = old["since"] if old is not None else self._clock()
            self._alarms[alarm_id] = {"id": alarm_id, "severity": severity, "text": text, "since": since}
        (log.error if severity == "error" else log.warning)("alarm %s: %s", alarm_id, text)
        if old is None and self.on_raise is not None:
            self.on_raise(alarm_id, text)

    def clear(self, alarm_id: str) -> None:
        with self._lock:
            gone = self._alarms.pop(alarm_id, None)
        if gone is not None:
            log.info("alarm %s cleared", alarm_id)

    def restamp(self, delta: float) -> None:
        """The wall clock was just set: alarms raised before it keep their moment, in true time."""
        with self._lock:
            for alarm in self._alarms.values():
                alarm["since"] += delta

    def active(self, prefix: str = "") -> list[dict[str, Any]]:
        """The alarms now raised (those whose id starts with `prefix`), errors first, then oldest first."""
        with self._lock:
            found = [dict(a) for a in self._alarms.values() if a["id"].startswith(prefix)]
        return sorted(found, key=lambda a: (a["severity"] != "error", a["since"], a["id"]))


def line_alarms(alarms: Alarms, line_id: str, status: dict | None) -> None:
    """The line's missing features and modem warnings as the daemon's alarms (docs/alarms.md), under
    `line.<id>.modem.`: raised while the modem status shows them, cleared once it does not."""
    prefix = f"line.{line_id}.modem."
    wanted: dict[str, tuple[str, str]] = {}
    for capability, why in ((status or {}).get("missing") or {}).items():
        severity = "error" if capability == "voice" else "warning"  # no voice: callers would hear nothing
        wanted[prefix + capability] = (severity, f"line {line_id} runs without {capability.replace('_', ' ')}: "
                                                 f"{why}")
    for kind, text in ((status or {}).get("warnings") or {}).items():
        wanted[prefix + kind] = ("warning", f"line {line_id}: the modem reports {text}")
    forwarding = (status or {}).get("forwarding") or {}
    if forwarding.get("problem"):  # overflow to a sibling box would not happen (docs/fleet.md)
        wanted[prefix + "forwarding"] = ("warning", f"line {line_id}: {forwarding['problem']}")
    for alarm in alarms.active(prefix):
        if alarm["id"] not in wanted:
            alarms.clear(alarm["id"])
    for alarm_id, (severity, text) in wanted.items():
        alarms.set(alarm_id, severity, text)


def fleet_numbers_alarm(alarms: Alarms, numbers: tuple[str, ...] | None, lines: list[dict]) -> None:
    """`fleet.numbers` while a line shows a number (its SIM's own, as the modem said at its start) that the box's
    `[fleet] numbers` does not list: a sibling takes a call from an unlisted number for any caller, so a caller this
    box moves over that line would hear the sibling's menu again (docs/fleet.md). None: the box is in no fleet."""
    shown = [(line["id"], number) for line in lines
             if isinstance(number := (line.get("modem") or {}).get("number"), str) and number]
    missing = [(line_id, number) for line_id, number in shown
               if numbers is not None and not any(same_number(number, n) for n in numbers)]
    if not missing:
        alarms.clear("fleet.numbers")
        return
    alarms.set("fleet.numbers", "warning", "; ".join(
        f"line {line_id} shows {number}, which [fleet] numbers does not list" for line_id, number in missing)
        + ": a sibling would not know the callers this box moves to it (they would hear its menu again)")
