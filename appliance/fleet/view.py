"""Every box of the fleet as the broker tells it: the fleet page, `hotline fleet` and the overflow read this.

Fed from paho's thread with each retained status and presence message; read from another thread, so the
table is behind a lock. A message that is not ours (bad JSON, a foreign topic, a wrong shape) is ignored.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .client import PREFIX


class FleetView:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._boxes: dict[str, dict[str, Any]] = {}  # box -> {"online": bool | None, "status": dict | None}

    def heard(self, topic: str, payload: bytes) -> None:
        parts = topic.split("/")
        if len(parts) != 3 or parts[0] != PREFIX or parts[2] not in ("status", "online"):
            return
        box, kind = parts[1], parts[2]
        try:
            message = json.loads(payload) if payload else None
        except ValueError:
            return
        with self._lock:
            if message is None:  # a retained message cleared: the box was taken out of the fleet
                self._boxes.pop(box, None)
                return
            if not isinstance(message, dict):
                return
            entry = self._boxes.setdefault(box, {"online": None, "status": None})
            if kind == "online" and isinstance(message.get("online"), bool):
                entry["online"] = message["online"]
            elif kind == "status" and isinstance(message.get("lines"), list):
                entry["status"] = message

    def boxes(self) -> list[dict[str, Any]]:
        """Each box, sorted by name: {box, online, status} (status None until it has sent one)."""
        with self._lock:
            return [{"box": box, "online": entry["online"], "status": entry["status"]}
                    for box, entry in sorted(self._boxes.items())]


def summary(entry: dict[str, Any]) -> dict[str, Any]:
    """One row of the fleet page or `hotline fleet`: what an admin looks at first."""
    status = entry["status"] or {}
    lines = status.get("lines") or []
    operators = status.get("operators") or {}
    waiting = status.get("waiting") or {}
    today = status.get("today") or {}
    return {
        "box": entry["box"], "name": status.get("name"), "online": bool(entry["online"]),
        "lines_up": sum(1 for line in lines if line.get("state") == "up"), "lines": len(lines),
        "line_states": [{"id": line.get("id"), "state": line.get("state"), "busy": line.get("busy"),
                         "signal_bars": line.get("signal_bars")} for line in lines],
        "free_operators": operators.get("free", 0), "busy_operators": operators.get("busy", 0),
        "free_skills": {str(k): v for k, v in (status.get("free_skills") or {}).items()},
        "numbers": [n for n in status.get("numbers") or [] if isinstance(n, str)],
        "waiting": waiting.get("callers", 0), "longest_wait": waiting.get("longest_seconds", 0),
        "service_level": today.get("service_level"), "answered": today.get("answered", 0),
        "abandoned": today.get("abandoned", 0),
        "alarms": [a.get("id") for a in status.get("alarms") or [] if isinstance(a, dict)],
        "at": status.get("at"),
    }
