"""The daemon-side event hook: every part outside the call logic that wants to hear what happens on the box
(alerts; the fleet's MQTT publisher) listens here rather than in the loop.

The loop passes each event it takes and each action it carries out to `seen`; `tell` adds what the core does
not see (an alarm raised, the emergency announcement switched on, a SIM balance read). Listeners run on the
loop's thread (disk.low may come from the keeper's, also on the loop): each must return at once — hand the
event to a queue of its own — and an exception in one is logged, never the loop's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..core.box_events import BoxEvent, BoxEvents

log = logging.getLogger(__name__)

Listener = Callable[[BoxEvent], None]


class EventHook:
    def __init__(self, wall: Callable[[], float]) -> None:
        self._wall = wall
        self._events = BoxEvents()
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def seen(self, item: object) -> None:
        """An event the loop took or an action it carried out."""
        if self._listeners:
            for event in self._events.seen(item, self._wall()):
                self._emit(event)

    def tell(self, kind: str, **data: Any) -> None:
        self._emit(BoxEvent(kind, self._wall(), data))

    def _emit(self, event: BoxEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("a listener failed on %s", event.kind)
