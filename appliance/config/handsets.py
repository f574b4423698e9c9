"""The [ringing] table and the [[handsets]] tables: how phones ring, and what each one is wired to."""

from __future__ import annotations

from typing import Any

from ..core.problems import Problem
from .handset_rules import BOUNCE_TIME, CADENCES, RING_HZ
from .model import HANDSET_PINS, HandsetConfig, LineConfig
from .validators import boolean, checked, gpio_pin, identifier, number, one_of, ring_cadence, seconds


def parse_cadence(ringing: dict[str, Any], problems: list[Problem]) -> tuple[float, ...]:
    name = ringing.get("cadence", "ru")
    if name == "custom":
        return checked(ring_cadence, ringing.get("custom"), "ringing.custom", problems) or CADENCES["ru"]
    if name not in CADENCES:
        problems.append(Problem("ringing.cadence", f"{name!r} is not one of {', '.join(CADENCES)}, custom"))
        return CADENCES["ru"]
    return CADENCES[name]


def parse_handsets(raw: object, lines: list[LineConfig], problems: list[Problem]) -> list[HandsetConfig]:
    """The handsets, each pin used once among them and the lines' power pins."""
    if raw is None:
        problems.append(Problem("handsets", "no [[handsets]]: nobody could answer a caller", "warning"))
        return []
    if not isinstance(raw, list):
        problems.append(Problem("handsets", "must be a list of [[handsets]] tables"))
        return []
    owners = {line.power_pin: f"lines[{i}].power_pin" for i, line in enumerate(lines) if line.power_pin is not None}
    handsets: list[HandsetConfig] = []
    seen: set[str] = set()
    for i, spec in enumerate(raw):
        where = f"handsets[{i}]"
        if not isinstance(spec, dict):
            problems.append(Problem(where, "must be a table"))
            continue
        handset_id = checked(identifier, spec.get("id"), f"{where}.id", problems)
        if handset_id in seen:
            problems.append(Problem(f"{where}.id", f"{handset_id!r} is used by another handset"))
        kind = checked(one_of, spec.get("kind", "relay"), f"{where}.kind", problems, *HANDSET_PINS)
        if handset_id is None or kind is None:
            continue
        seen.add(handset_id)
        handset = _handset(spec, handset_id, kind, where, {line.id for line in lines}, problems)
        if handset is None:
            continue
        handsets.append(handset)
        for pin, pin_where in _pins(handset, where):
            if pin in owners:
                problems.append(Problem(pin_where, f"GPIO{pin} is already used by {owners[pin]}"))
            else:
                owners[pin] = pin_where
    return handsets


def _pins(handset: HandsetConfig, where: str) -> list[tuple[int, str]]:
    """Every pin of the handset, and where the config names it."""
    pins = [(getattr(handset, name), f"{where}.{name}") for name in HANDSET_PINS[handset.kind]]
    pins += [(pin, f"{where}.audio_pins.{line_id}") for line_id, pin in handset.audio_pins.items()]
    if handset.presence_pin is not None:
        pins.append((handset.presence_pin, f"{where}.presence_pin"))
    if handset.mute_pin is not None:
        pins.append((handset.mute_pin, f"{where}.mute_pin"))
    return pins


def _handset(spec: dict[str, Any], handset_id: str, kind: str, where: str, line_ids: set[str],
             problems: list[Problem]) -> HandsetConfig | None:
    """One handset, or None when any of its values is wrong (each one a problem)."""
    found = len(problems)
    pins: dict[str, int] = {}
    for name in HANDSET_PINS[kind]:
        pin = checked(gpio_pin, spec.get(name), f"{where}.{name}", problems)
        if pin is not None:
            pins[name] = pin
    audio_pins: dict[str, int] = {}
    if not isinstance(spec.get("audio_pins", {}), dict):
        problems.append(Problem(f"{where}.audio_pins", "must be a table of line = pin"))
    else:
        for line_id, value in spec.get("audio_pins", {}).items():
            if line_id not in line_ids:
                problems.append(Problem(f"{where}.audio_pins.{line_id}", "names no configured line"))
            pin = checked(gpio_pin, value, f"{where}.audio_pins.{line_id}", problems)
            if pin is not None:
                audio_pins[line_id] = pin
    if not audio_pins and isinstance(spec.get("audio_pins", {}), dict):
        problems.append(Problem(f"{where}.audio_pins", "needs an audio relay for at least one line, "
                                                       "e.g. audio_pins = { gsm1 = 22 }"))
    presence = spec.get("presence_pin")
    presence_pin = None if presence is None else checked(gpio_pin, presence, f"{where}.presence_pin", problems)
    mute = spec.get("mute_pin")
    mute_pin = None if mute is None else checked(gpio_pin, mute, f"{where}.mute_pin", problems)
    skills = spec.get("skills", [])
    if not isinstance(skills, list) or not all(isinstance(s, str) and s for s in skills):
        problems.append(Problem(f"{where}.skills", "must be a list of skill names"))
    for key in ("name", "operator"):
        if key in spec and not isinstance(spec[key], str):
            problems.append(Problem(f"{where}.{key}", "must be a string"))
    active_low = checked(boolean, spec.get("active_low", False), f"{where}.active_low", problems)
    bounce_time = checked(seconds, spec.get("bounce_time", 0.03), f"{where}.bounce_time", problems, *BOUNCE_TIME)
    ring_hz = checked(number, spec.get("ring_hz", 20.0), f"{where}.ring_hz", problems, *RING_HZ)
    if len(problems) > found or bounce_time is None or ring_hz is None:
        return None
    return HandsetConfig(
        id=handset_id, kind=kind, hook_pin=pins["hook_pin"], audio_pins=audio_pins,
        ring_pin=pins.get("ring_pin"), ring_mode_pin=pins.get("ring_mode_pin"), fr_pin=pins.get("fr_pin"),
        presence_pin=presence_pin, mute_pin=mute_pin, name=str(spec.get("name", "")), operator=spec.get("operator"),
        skills=tuple(skills), active_low=active_low is True, bounce_time=bounce_time, ring_hz=ring_hz)
