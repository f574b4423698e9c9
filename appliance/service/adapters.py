"""The box's hardware, brought up from the config and put down again: handsets, modems and line audio.

A line is its modem and its audio; either failing leaves that line down (a LineDown event says why) and
the rest of the box up. Handsets come first at start, so their relays are off the moment they exist.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from ..config import Config, LineConfig
from ..core import events as ev
from ..handsets.devices import PresenceSwitch, build_handset
from ..modem import volte
from ..modem.line import ModemError, ModemLine
from ..modem.power import PowerKey
from ..modem.voice_switch import VoiceSwitch
from ..ports import HandsetPort, LinePort, PlayerPort, PresencePort, RecorderPort
from .line_audio import audio_path, line_audio

log = logging.getLogger(__name__)


class Adapters:
    """Every hardware adapter the service drives, by line or handset id, each behind its port."""

    def __init__(
        self,
        *,
        pin_factory: Any,
        post: Callable[[object], None],
        open_pcm: Callable[..., Any] | None = None,
        open_capture: Callable[..., Any] | None = None,
    ) -> None:
        self.pin_factory = pin_factory
        self.post = post
        self.open_pcm = open_pcm  # the ALSA openers; tests and the simulation stand in their own
        self.open_capture = open_capture
        self.handsets: dict[str, HandsetPort] = {}
        self.presence_switches: list[PresencePort] = []
        self.power_keys: list[PowerKey] = []
        self.lines: dict[str, LinePort] = {}
        self.players: dict[str, PlayerPort] = {}
        self.recorders: dict[str, RecorderPort] = {}
        self.volte: dict[str, str] = {}  # each LTE line's IMS/VoLTE state in words, read once it is up

    def start_handsets(self, config: Config) -> None:
        for spec in config.handsets:
            self.handsets[spec.id] = build_handset(spec, pin_factory=self.pin_factory, cadence=config.cadence,
                                                   post=self.post)
            if spec.presence_pin is not None:
                switch = PresenceSwitch(spec.presence_pin, pin_factory=self.pin_factory,
                                        when_present=self._presence(spec.id, True),
                                        when_absent=self._presence(spec.id, False))
                self.presence_switches.append(switch)
                self.post(ev.PresenceChanged(spec.id, switch.is_present))  # the desk as it is at start

    def _presence(self, handset: str, present: bool) -> Callable[[], None]:
        return lambda: self.post(ev.PresenceChanged(handset, present))

    def start_line(self, line: LineConfig, note_answer: Callable[..., Any] | None) -> None:
        """The line's modem and audio; `note_answer` journals each ATA before it is sent."""
        if line.port.startswith("sim://"):
            self.post(ev.LineDown(line.id, f"not configured: port {line.port} is only for `hotline simulate`"))
            return
        power_key = None
        if line.power_pin is not None:
            power_key = PowerKey(line.power_pin, pin_factory=self.pin_factory)
            self.power_keys.append(power_key)
        # a line whose voice runs over the modem's USB has it switched there per call, at the family's moment
        switch = (VoiceSwitch(line.id, line.audio, dialect=lambda: modem.status()["dialect"],
                              submit=lambda job: modem.submit(job)) if line.audio != "alsa" else None)
        modem = ModemLine(line.id, line.port, post=switch.watch(self.post) if switch else self.post,
                          on_report=switch.on_report if switch else None, dialect=line.dialect,
                          baudrate=line.baudrate, rtscts=line.rtscts, sim_pin=line.sim_pin, power_cycle=power_key,
                          ussd_balance=line.ussd_balance, ussd_period=line.ussd_period,
                          dial_timeout=line.dial_timeout, call_waiting=line.call_waiting,
                          answer_after_rings=line.answer_after_rings, note_answer=note_answer,
                          forward=(line.forward_to, line.forward_on, line.forward_after) if line.forward_to else None)
        detect = line.dialect == "auto"
        if detect:  # the audio path follows the family (a voice modem carries it itself): known once it has said
            if not self._start_modem(line, modem):
                return
            line = dataclasses.replace(line, dialect=modem.status()["dialect"])
        player, recorder = line_audio(line, modem, post=self.post, open_pcm=self.open_pcm,
                                      open_capture=self.open_capture)
        self.players[line.id], self.recorders[line.id] = player, recorder
        if line.dialect != "v253":
            try:
                player.open()
                recorder.open()
            except Exception as exc:  # ALSA's own error type, or OSError: a sound card missing or busy
                reason = f"{audio_path(line)} cannot be opened: {exc}"
                log.error("line %s is down: %s", line.id, reason)
                if detect:
                    self.lines.pop(line.id).close()
                self.post(ev.LineDown(line.id, reason))
                return  # without audio the line must not answer: callers would hear silence
        if not detect and not self._start_modem(line, modem):
            return
        if line.dialect == "v253":
            try:  # the voice modem carries the audio: its formats are asked once it answers AT
                player.open()
                recorder.open()
            except ModemError as exc:
                log.error("line %s: voice mode not ready yet (%s); trying again at the first prompt", line.id, exc)

    def _start_modem(self, line: LineConfig, modem: ModemLine) -> bool:
        self.lines[line.id] = modem
        try:
            modem.start()
        except ModemError as exc:
            log.error("line %s is down: %s", line.id, exc)
            self.post(ev.LineDown(line.id, str(exc)))
            return False
        modem.submit(lambda command: self._read_volte(line.id, modem, command))
        return True

    def _read_volte(self, line_id: str, modem: ModemLine, command: Callable[..., Any]) -> None:
        """The line's VoLTE state for its status (a job on the line's worker: it never waits on the loop)."""
        dialect = modem.status()["dialect"]
        query = volte.QUERIES.get(dialect)
        reply = command(query) if query else None
        self.volte[line_id] = str(volte.read(dialect, "\n".join([*reply.lines, reply.final]) if reply else ""))

    def show(self, status: dict[str, Any]) -> None:
        """The hardware's own state, added to the core's status: each line's modem, each handset's receiver."""
        for line in status["lines"]:
            modem = self.lines.get(line["id"])
            line["modem"] = modem.status() if modem else None
            if line["modem"] is not None:
                line["modem"]["volte"] = self.volte.get(line["id"])  # read once the line came up
        for handset in status["handsets"]:
            device = self.handsets.get(handset["id"])
            handset["off_hook"] = bool(device and device.is_off_hook)

    def switch_off(self) -> None:
        """Every relay off, whatever else fails: the first thing a stopping box does."""
        for handset in self.handsets.values():
            try:
                handset.off()
            except Exception:
                log.exception("could not switch handset %s off", handset)

    def close(self) -> None:
        """Release the hardware; safe to call more than once."""
        # Audio first: a voice session on a V.253 line holds the modem's worker until it ends.
        for player in self.players.values():
            player.close()
        for recorder in self.recorders.values():
            recorder.close()
        for modem in self.lines.values():
            modem.close()
        for handset in self.handsets.values():
            handset.close()
        for switch in self.presence_switches:
            switch.close()
        for key in self.power_keys:
            key.close()
        self.presence_switches.clear()
        self.power_keys.clear()
        self.handsets.clear()
        self.lines.clear()
        self.players.clear()
        self.recorders.clear()
