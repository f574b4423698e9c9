"""The daemon's side of the fleet: what it publishes, and the siblings it hears of.

On the daemon's loop: the event hook (service/hooks.py) hands it each happening, the worth-telling ones go
out as event messages; after each item the loop takes, the status is made again from the daemon's own
`status` reply and sent only when it says something new. Publishing is a queued write (client.py): the
loop never waits on the network.
"""

from __future__ import annotations

import collections
import itertools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..config.fleet import FleetConfig
from ..core import events as ev
from ..core.box_events import BoxEvent
from ..records.store.queries import CallLog
from .client import FleetClient
from .payloads import event_payload, move_announced, move_payload, same_status, sibling, status_payload
from .view import FleetView, summary

log = logging.getLogger(__name__)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hotline-appliance")
    except PackageNotFoundError:
        return "unknown"


class FleetLink:
    def __init__(self, config: FleetConfig, *, name: str, status: Callable[[], dict[str, Any]], data_dir: Path,
                 timezone: str, wall: Callable[[], float], caller: Callable[[str | None], str | None],
                 tell: Callable[..., None] | None = None, wake: Callable[[object], None] | None = None) -> None:
        """`tell(kind, **data)` is the event hook's (a sibling gone offline); `wake(item)` posts to the loop, so a
        sibling's news heard on paho's thread is judged on the loop."""
        self.config = config
        self._name = name
        self._status = status
        self._wall = wall
        self._zone = ZoneInfo(timezone)
        self._calls = CallLog(Path(data_dir) / "calls.db")
        self._caller = caller if config.share_callers else None
        self._seq = itertools.count(1)
        self._version = _version()
        self._today: dict[str, Any] | None = None  # counted again when a call ends or the day turns
        self._day_ends = 0.0
        self._sent: dict[str, Any] | None = None
        self.view = FleetView()
        self._tell, self._wake = tell, wake
        self._online: dict[str, bool] = {}  # each sibling as last judged on the loop
        self._lines: dict[str, dict[str, str]] = {}  # paho's thread: each sibling's line states as last heard
        self._dropped: collections.deque[tuple[str, str]] = collections.deque()  # (box, line), told on the loop
        self.client = FleetClient(config, heard=self._heard)

    def _heard(self, topic: str, payload: bytes) -> None:
        """paho's thread: the view takes it; a line's drop is noted here, as each status comes, so a line that
        drops and returns between two turns of the loop is still told; the loop tells it (refresh)."""
        self.view.heard(topic, payload)
        box = topic.split("/")[1] if topic.count("/") == 2 else None
        if box == self.config.box:
            return  # this box's own messages, back from the broker: nothing to judge
        if topic.endswith("/moves"):  # a sibling's caller on the way here (core/moves.py)
            coming = move_announced(payload, here=self.config.box)
            if coming is not None and self._wake is not None:
                self._wake(coming)
            return
        if topic.endswith("/status") and box is not None:
            self._note_lines(box)
        if self._wake is not None:  # the core moves waiting callers to a sibling with a free operator
            self._wake(ev.SiblingsHeard(tuple(s for e in self.view.boxes()
                                           if e["box"] != self.config.box and (s := sibling(e)) is not None)))

    def start(self) -> None:
        self.refresh()
        self.client.start()

    def close(self) -> None:
        self.client.close()

    def heard(self, event: BoxEvent) -> None:
        """A listener of the daemon's event hook."""
        if event.kind == "call_moving":  # said before the transfer: a word that cannot go now is worth nothing later
            self.client.move(move_payload(event, box=self.config.box, caller=self._caller))
            return
        payload = event_payload(event, box=self.config.box, caller=self._caller)
        if payload is not None:
            self.client.event({**payload, "seq": next(self._seq)})
        if event.kind == "call_ended":
            self._today = None

    def refresh(self) -> None:
        """After each item the loop took: the status, sent when it changed; a sibling gone offline, told."""
        self._judge_siblings()
        now = self._wall()
        try:
            status = self._status()
        except Exception:  # the status is the loop's own: a failure in it is logged, the loop goes on
            log.exception("fleet: the status could not be made")
            return
        payload = status_payload(self.config.box, status, self._figures(now), name=self._name,
                                 version=self._version, at=now, dropped=self.client.dropped,
                                 numbers=self.config.numbers)
        if not same_status(self._sent, payload):
            self._sent = payload
            self.client.status(payload)

    def _judge_siblings(self) -> None:
        for entry in self.view.boxes():
            box, online = entry["box"], entry["online"]
            if box == self.config.box or online is None:
                continue
            if self._online.get(box) is True and online is False and self._tell is not None:
                self._tell("box_offline", sibling=box)
            self._online[box] = online
        while self._dropped:
            box, line = self._dropped.popleft()
            if self._tell is not None:
                self._tell("sibling_line_down", sibling=box, line=line)

    def _note_lines(self, box: str) -> None:
        """paho's thread: a sibling's line that was up and is now down (a box starting shows them down first)."""
        entry = next((e for e in self.view.boxes() if e["box"] == box), None)
        if box == self.config.box or entry is None or entry["status"] is None:
            return
        lines = {line.get("id"): line.get("state") for line in entry["status"].get("lines") or []
                 if isinstance(line, dict) and isinstance(line.get("id"), str)}
        before = self._lines.get(box, {})
        self._dropped.extend((box, line) for line, state in sorted(lines.items())
                             if before.get(line) == "up" and state == "down")
        self._lines[box] = lines

    def _figures(self, now: float) -> dict[str, Any]:
        """Today's calls on the box's clock, in the dashboard's terms (records/store/stats.py)."""
        if self._today is None or now >= self._day_ends:
            day = datetime.fromtimestamp(now, self._zone).date()
            midnight = datetime(day.year, day.month, day.day, tzinfo=self._zone)
            self._day_ends = (midnight + timedelta(days=1)).timestamp()
            try:
                figures = self._calls.stats(midnight.timestamp(), self._day_ends, only=("summary",))["summary"]
            except Exception:  # the figures are a nicety: a locked or damaged log must not stop the status
                log.exception("fleet: today's figures could not be counted")
                figures = {}
            self._today = {key: figures.get(key) or 0 for key in ("offered", "answered", "abandoned")}
            self._today["service_level"] = figures.get("service_level")
        return self._today

    def fleet(self) -> dict[str, Any]:
        """The `fleet` control command: every box the broker told of, this one included."""
        return {"configured": True, "box": self.config.box, "broker": self.config.url,
                "connected": self.client.connected, "boxes": [summary(b) for b in self.view.boxes()]}
