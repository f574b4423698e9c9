"""The typed configuration: what the rest of the box reads once the document has been checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.flow import Flow
from ..core.problems import Problem
from ..core.schedule import Schedule
from .people import People
from .records import Records

LANGUAGES = ("en", "ru")
HANDSET_PINS = {
    "relay": ("ring_pin", "hook_pin"),
    "slic": ("ring_mode_pin", "fr_pin", "hook_pin"),
}
# Every key a [[handsets]] table may have (docs/handsets.md): the pins of both kinds, and the rest.
HANDSET_KEYS = ("id", "name", "operator", "kind", "ring_pin", "hook_pin", "ring_mode_pin", "fr_pin", "audio_pins",
                "skills", "presence_pin", "bounce_time", "active_low", "ring_hz")


def language_variants(key: str) -> tuple[str, ...]:
    """A text key and its per-language forms: wait_text, wait_text_en, wait_text_ru."""
    return (key, *(f"{key}_{lang}" for lang in LANGUAGES))


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Config:
    document: dict[str, Any]
    name: str
    language: str
    country: str
    lines: tuple[LineConfig, ...]
    handsets: tuple[dict[str, Any], ...]
    cadence: tuple[float, ...]
    schedule: Schedule
    prompts: dict[str, dict[str, Any]]
    flow: Flow
    people: People
    records: Records
    warnings: tuple[Problem, ...] = ()

    def output_pins(self) -> list[int]:
        """Every pin the box drives: the firmware holds them low from power-on."""
        pins = [line.power_pin for line in self.lines if line.power_pin is not None]
        for spec in self.handsets:
            pins += [spec[name] for name in HANDSET_PINS[spec["kind"]] if name != "hook_pin"]
            pins += list(spec.get("audio_pins", {}).values())
        return sorted(set(pins))
