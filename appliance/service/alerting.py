"""The alert sender's thread in the daemon, and the one thing it needs of the loop's world: a line to text from.

An SMS alert goes through the same modem path as the flow's SMS (ModemLine.send_sms on the line's worker);
the thread waits, bounded, for the modem's SmsResult, which the loop passes on through the event hook.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from ..alerts.sender import AlertSender
from ..config import Config
from ..core.box_events import BoxEvent
from ..ports import LinePort
from ..records.privacy import Privacy
from .alarms import Alarms
from .hooks import EventHook

SMS_WAIT = 120.0  # s for the modem's verdict on one SMS (AT+CMGS may take 60 s per part)


class Alerting:
    def __init__(self, config: Config, data_dir: Path, *, hook: EventHook, privacy: Privacy, alarms: Alarms,
                 lines: Mapping[str, LinePort], line_state: Callable[[], Mapping[str, str]],
                 wall: Callable[[], float], transcript_due: Callable[[], bool]) -> None:
        self._lines, self._line_state = lines, line_state
        self._waiting: dict[str, tuple[threading.Event, list[str | None]]] = {}
        self._lock = threading.Lock()
        self.sender = AlertSender(
            data_dir, config.alerts, box=config.name, language=config.language,
            timezone=config.schedule.timezone, privacy=privacy, send_sms=self._send_sms, clock=wall,
            on_trouble=lambda text: alarms.set("alerts.send", "warning", text) if text else alarms.clear("alerts.send"),
            transcript_due=transcript_due)
        hook.listen(self._heard)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.sender.run, args=(self._stop,), name="alerts", daemon=True)
        self._thread.start()

    def _heard(self, event: BoxEvent) -> None:
        if event.kind == "sms_result":
            with self._lock:
                waiting = self._waiting.get(event.data["number"])
            if waiting is not None:
                waiting[1].append(None if event.data["ok"] else str(event.data["reason"]))
                waiting[0].set()
        self.sender.take(event)

    def _send_sms(self, number: str, text: str) -> str | None:
        """On the alert thread: the first line up sends it; the modem's verdict, or why there was none."""
        up = [line for line, state in dict(self._line_state()).items() if state == "up" and line in self._lines]
        if not up:
            return "no line is up to send the SMS from"
        done, verdict = threading.Event(), []
        with self._lock:
            self._waiting[number] = (done, verdict)
        try:
            self._lines[up[0]].send_sms(number, text)
            if not done.wait(SMS_WAIT):
                return f"the modem gave no verdict within {SMS_WAIT:.0f} s"
            return verdict[0]
        finally:
            with self._lock:
                self._waiting.pop(number, None)

    def close(self) -> None:
        self._stop.set()
        self.sender.wake()
        self._thread.join(timeout=5)
        self.sender.close()
