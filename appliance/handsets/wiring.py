"""Which GPIO pins a [[handsets]] table from the config uses, read without touching any pin."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Pin = int | str

KINDS = ("relay", "slic")
# Output pin keys per kind, in the order the parts are built (the audio relays come last).
_OUTPUT_KEYS = {"relay": ("ring_pin",), "slic": ("ring_mode_pin", "fr_pin")}
_BCM_NAME = re.compile(r"(?:GPIO|BCM)?(\d+)", re.IGNORECASE)


def handset_label(spec: Mapping[str, Any]) -> str:
    return f"handset {spec.get('id', '?')!r}"


def kind_of(spec: Mapping[str, Any]) -> str:
    kind = spec.get("kind", "relay")
    if kind not in KINDS:
        raise ValueError(f"{handset_label(spec)}: kind {kind!r} is not one of {', '.join(KINDS)}")
    return kind


def normalise_pin(value: object, where: str) -> Pin:
    """A pin as gpiozero takes it; "GPIO17", "BCM17" and 17 all become 17 so a pin used twice is caught."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{where}: pin {value!r} must be a GPIO number or a pin name such as 'GPIO17'")
    if isinstance(value, int):
        if not 0 <= value <= 53:
            raise ValueError(f"{where}: pin {value!r} is not a GPIO number (0-53)")
        return value
    name = value.strip()
    if not name:
        raise ValueError(f"{where}: pin name is empty")
    match = _BCM_NAME.fullmatch(name)
    return normalise_pin(int(match.group(1)), where) if match else name


def pin_of(spec: Mapping[str, Any], key: str) -> Pin:
    if key not in spec:
        raise ValueError(f"{handset_label(spec)} ({kind_of(spec)}) needs {key}")
    return normalise_pin(spec[key], f"{handset_label(spec)} {key}")


def audio_pins_of(spec: Mapping[str, Any]) -> dict[str, Pin]:
    pins = spec.get("audio_pins")
    if not isinstance(pins, Mapping) or not pins:
        raise ValueError(
            f"{handset_label(spec)}: audio_pins must map each line id to a pin, e.g. {{ gsm1 = 22 }}"
        )
    return {
        str(line): normalise_pin(pin, f"{handset_label(spec)} audio_pins.{line}")
        for line, pin in pins.items()
    }


def output_pins(spec: Mapping[str, Any]) -> list[Pin]:
    """Every output pin the handset uses, repeats kept so a pin used twice within one handset shows."""
    return [pin_of(spec, key) for key in _OUTPUT_KEYS[kind_of(spec)]] + list(audio_pins_of(spec).values())


def input_pins(spec: Mapping[str, Any]) -> list[Pin]:
    return [pin_of(spec, "hook_pin")]
