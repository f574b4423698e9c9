"""The typed configuration: what the rest of the box reads once the document has been checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance.core.lean import lean

from ..core.flow import Flow
from ..core.problems import Problem
from ..core.schedule import Schedule
from .alerts import Alerts
from .fleet import FleetConfig
from .people import People
from .records import Records
from .speech import Speech
from .texts import Texts

HANDSET_PINS = {
    "relay": ("ring_pin", "hook_pin"),
    "slic": ("ring_mode_pin", "fr_pin", "hook_pin"),
}
# Every key a [[handsets]] table may have (docs/handsets.md): the pins of both kinds, and the rest.
HANDSET_KEYS = ("id", "name", "operator", "kind", "ring_pin", "hook_pin", "ring_mode_pin", "fr_pin", "audio_pins",
                "skills", "presence_pin", "mute_pin", "bounce_time", "active_low", "ring_hz")


@lean(frozen=True)
class LineConfig:
    id: str
    port: str
    dialect: str
    baudrate: int
    rtscts: bool
    sim_pin: str | None
    power_pin: int | None
    audio_out: str
    audio_in: str
    software_dtmf: bool = False  # listen for keys in the captured audio: for modems that do not report DTMF
    ussd_balance: str | None = None  # e.g. "*100#": the SIM's balance, asked every ussd_period seconds
    ussd_period: float = 86400.0
    dial_timeout: float = 60.0
    call_waiting: str = "reject"  # a second caller while a call is up: reject (busy, AT+CHLD=0) or off (AT+CCWA=0,0)
    answer_after_rings: int | None = None  # None: 2 on a V.253 landline (caller ID comes after ring 1), else 1
    audio: str = "alsa"  # alsa (sound card) | serial (the modem's USB voice port) | uac (the modem's USB sound card)
    audio_port: str | None = None  # the voice port when audio = "serial": /dev/hotline/<line>-audio
    forward_to: str | None = None  # a sibling box's number: the network's call forwarding (config/forwarding.py)
    forward_on: tuple[str, ...] = ("busy", "no_reply", "not_reachable")
    forward_after: int = 20  # seconds of ringing before an unanswered call goes on


@lean(frozen=True)
class HandsetConfig:
    """One [[handsets]] table, checked: every pin a BCM number on the header, each used once in the box."""

    id: str
    kind: str  # relay (ring relay + cradle switch) | slic (one AG1171-class SLIC)
    hook_pin: int
    audio_pins: Mapping[str, int]  # line id -> the pin of this handset's audio relay for that line
    ring_pin: int | None = None  # relay only
    ring_mode_pin: int | None = None  # slic only
    fr_pin: int | None = None  # slic only
    presence_pin: int | None = None  # an operator's presence switch at this desk
    mute_pin: int | None = None  # a relay that cuts this handset's microphone: a supervisor listening only
    name: str = ""
    operator: str | None = None  # who is logged in here when the box starts
    skills: tuple[str, ...] = ()
    active_low: bool = False  # relay boards that switch on a low input
    bounce_time: float = 0.03  # seconds the cradle switch must settle
    ring_hz: float = 20.0  # slic only: the ringing frequency

    def output_pins(self) -> list[int]:
        """The pins this handset drives (relays, SLIC lines), in the order the parts are built."""
        own = [self.ring_pin] if self.kind == "relay" else [self.ring_mode_pin, self.fr_pin]
        return [pin for pin in own if pin is not None] + list(self.audio_pins.values()) + (
            [self.mute_pin] if self.mute_pin is not None else [])


@lean(frozen=True)
class PromptConfig:
    """What a prompt is made from: a text spoken in `lang`, or a recording uploaded to the box."""

    text: str | None = None
    lang: str = "en"
    file: str | None = None  # a name in the uploads directory, never a path
    voice: str | None = None  # a text's voice (docs/speech.md): "piper:<uploaded>", "rhvoice:<name>"; else espeak-ng


@lean(frozen=True)
class Config:
    # The document as written, handed back only to be edited and kept (config.get, revisions): the box itself
    # reads the typed fields below, never this.
    document: dict[str, Any]
    name: str
    language: str
    country: str
    lines: tuple[LineConfig, ...]
    handsets: tuple[HandsetConfig, ...]
    cadence: tuple[float, ...]
    schedule: Schedule
    prompts: dict[str, PromptConfig]
    flow: Flow
    people: People
    records: Records
    warnings: tuple[Problem, ...] = ()
    fleet: FleetConfig | None = None  # [fleet]: the MQTT broker shared with sibling boxes
    alerts: Alerts = Alerts()  # [[alerts]] rules and the [smtp] relay (docs/alerts.md)
    speech: Speech = Speech()
    texts: Texts = Texts()  # [texts]: the two-way SMS line (docs/texts.md)

    def output_pins(self) -> list[int]:
        """Every pin the box drives: the firmware holds them low from power-on."""
        pins = [line.power_pin for line in self.lines if line.power_pin is not None]
        for handset in self.handsets:
            pins += handset.output_pins()
        return sorted(set(pins))
