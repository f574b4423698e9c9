"""What the modem tests share: the core's side of a ModemLine, collecting the events it posts."""

from __future__ import annotations

import queue

from appliance.core.events import IncomingCall


class Events:
    """Stands where the daemon's queue stands: ModemLine posts here, the test reads in order."""

    def __init__(self) -> None:
        self.q: queue.Queue = queue.Queue()

    def post(self, event: object) -> None:
        self.q.put(event)

    def next(self, timeout: float = 10.0) -> object:
        return self.q.get(timeout=timeout)

    def until(self, kind: type, timeout: float = 10.0) -> object:
        """The next event of this kind, skipping the others (queue.Empty when none comes in time)."""
        while True:
            event = self.q.get(timeout=timeout)
            if isinstance(event, kind):
                return event


def is_new_call(event: object, line: str, caller: str | None = None) -> bool:
    """IncomingCall on `line` carrying the id the line made for it (the one its answer journal notes)."""
    return (isinstance(event, IncomingCall) and event.line == line and event.caller == caller
            and bool(event.call_id))
