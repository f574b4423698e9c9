"""The daemon's status, as the web page, `hotline check`, the fleet and systemd see it.

The core knows the calls, lines and operators; the rest of the picture is held
elsewhere: each modem's and handset's state (the adapters), the speech worker,
the alarms, the prompts being made and who forced the hours open or closed.
StatusView gathers them into one reply, and a one-line summary for systemd.
It runs on the event loop, like every control command.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..config import Config
from ..core.switchboard import Switchboard
from ..records.privacy import Privacy, appear
from .adapters import Adapters
from .alarms import Alarms, fleet_numbers_alarm, line_alarms
from .speech import SpeechService


class StatusView:
    def __init__(
        self,
        *,
        core: Switchboard,
        privacy: Privacy,
        adapters: Adapters,
        alarms: Alarms,
        speech: SpeechService,
        prompts_made: threading.Event,
        config: Callable[[], Config],  # the config in force: a reconfigure replaces it
        override: Callable[[], dict[str, Any] | None],  # the web page's force open/closed, as kept on disk
    ) -> None:
        self.core = core
        self.privacy = privacy
        self.adapters = adapters
        self.alarms = alarms
        self.speech = speech
        self.prompts_made = prompts_made
        self.config = config
        self.override = override

    def status(self) -> dict[str, Any]:
        status = self.core.status()
        prompts = self.config().prompts
        for call in status["calls"]:  # the live view passes the privacy rule like every record
            call["caller"] = appear(call["caller"], "live", policy=self.privacy)
            # What the caller hears now, in words, for the training bench (a tone or a file has no text).
            spoken = prompts.get(call["prompt"] or "")
            call["prompt_text"] = spoken.text if spoken else None
        self.adapters.show(status)
        for line in status["lines"]:
            line_alarms(self.alarms, line["id"], line["modem"])
        fleet = self.config().fleet
        fleet_numbers_alarm(self.alarms, fleet.numbers if fleet else None, status["lines"])
        status["speech"] = self.speech.status()
        status["prompts_made"] = self.prompts_made.is_set()  # READY=1 comes before them; a caller may hear a wait
        status["alarms"] = self.alarms.active()
        forced = self.override()
        if status["schedule"]["override"] and forced:  # who forced it, for the dashboard
            status["schedule"].update(override_by=forced.get("by"), override_at=forced.get("at"))
        return status

    def summary(self) -> str:
        lines = self.core.line_state
        up = sum(1 for state in lines.values() if state == "up")
        calls = len(self.core.live_calls)
        operators = sum(1 for o in self.core.operators if o.handset is not None)
        alarms = len(self.alarms.active())
        return (f"{up}/{len(lines)} lines up, {operators} operators, {calls} calls in progress"
                + (f", {alarms} alarm(s)" if alarms else "")
                + ("" if self.prompts_made.is_set() else ", making prompts"))
