"""Optional commands: what a line does without.

An optional command (caller ID, DTMF detection, voice probes, audio routing, call waiting) that the modem refuses —
ERROR, +CME ERROR, Huawei's COMMAND NOT SUPPORT, or no answer at all while the modem still answers `AT` — never
keeps a line down and never fails a call: the feature is noted missing (status()["missing"], the daemon's
alarms, `hotline check`) and the line carries on without it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from appliance.modem.at import AtTimeout, Reply

log = logging.getLogger(__name__)


class Capabilities:
    """The features this modem lacks: capability -> why (the command and what the modem said)."""

    def __init__(self, line_id: str) -> None:
        self.line_id = line_id
        self._missing: dict[str, str] = {}
        self._lock = threading.Lock()

    def attempt(self, command: Callable[..., Reply], text: str, capability: str, **kw: object) -> Reply:
        """Send the optional command `text`; a refusal is noted, never raised. An unanswered one is followed by a
        plain AT: if that times out too the modem itself is gone and AtTimeout goes up as for any command."""
        try:
            reply = command(text, **kw)
        except AtTimeout:
            command("AT", timeout=2.0)
            reply = Reply(text, [], "no answer")
        with self._lock:
            if reply.ok:
                self._missing.pop(capability, None)
                return reply
            self._missing[capability] = f"{text} answered {reply.final}"
        log.warning("line %s: %s refused (%s): carrying on without %s", self.line_id, text, reply.final,
                    capability.replace("_", " "))
        return reply

    def missing(self) -> dict[str, str]:
        with self._lock:
            return dict(self._missing)

