"""Switching a call's voice onto the modem's USB path (voice port or USB sound card), at the family's moment.

The family says what to send and when (`Dialect.usb_voice`): after the answer (Huawei `AT^DDSETEX=2`, which
the line sends itself, Quectel `AT+QPCMV=1,0`/`1,2`), or once the modem reports the call connected (SIMCom
`AT+CPCMREG=1` after `VOICE CALL: BEGIN`, `AT+CPCMREG=0` at `VOICE CALL: END`). The switch watches the
line's reports (ModemLine's `on_report`) and the events the line posts (CallAnswered, DialAnswered), and
queues the commands on the line's worker: it never waits on the modem itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from appliance.core.events import CallAnswered, DialAnswered
from appliance.modem.at import Reply
from appliance.modem.dialects import dialect_named
from appliance.modem.dialects.base import Happening, LineAnswered, LineHungUp, VoiceSwitching

log = logging.getLogger(__name__)

Submit = Callable[[Callable[[Callable[..., Reply]], None]], None]  # ModemLine.submit


class VoiceSwitch:
    def __init__(self, line_id: str, audio: str, *, dialect: Callable[[], str], submit: Submit) -> None:
        """`dialect()` names the line's family now (auto-detection may change it); `submit` is ModemLine.submit."""
        self.line_id = line_id
        self.audio = audio
        self.sent: list[str] = []  # what went out and was accepted: status and tests read it
        self._dialect = dialect
        self._submit = submit

    def _switching(self) -> VoiceSwitching | None:
        try:
            return dialect_named(self._dialect()).usb_voice.get(self.audio)
        except ValueError:  # "generic": a modem of no known family has no known USB voice path
            return None

    def watch(self, post: Callable[[object], None]) -> Callable[[object], None]:
        """`post` for the ModemLine: the line's events pass through unchanged, answers switch the voice on."""
        def posting(event: object) -> None:
            if isinstance(event, CallAnswered | DialAnswered):
                self._send("answered")
            post(event)
        return posting

    def on_report(self, happening: Happening) -> None:
        """ModemLine's `on_report` hook (reader thread)."""
        if isinstance(happening, LineAnswered):
            self._send("connected")
        elif isinstance(happening, LineHungUp):
            self._send("ended")

    def _send(self, moment: str) -> None:
        switching = self._switching()
        if switching is None:
            return
        if moment == "ended":
            commands = switching.off
        else:
            commands = switching.on if switching.when == moment else ()
        for text in commands:
            self._submit(functools.partial(self._run, text=text))

    def _run(self, command: Callable[..., Reply], text: str) -> None:
        reply = command(text)
        if reply.ok:
            self.sent.append(text)
        else:  # the caller may hear nothing: say which command the modem refused
            log.error("line %s: %s answered %s: the call's voice is not on the modem's USB %s path",
                      self.line_id, text, reply.final, self.audio)
