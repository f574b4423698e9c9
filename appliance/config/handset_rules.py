"""What a handset may be: its ring cadence, the GPIO pins it is wired to, what its hardware can do.

Pure rules (stdlib only) that the config checks against and the drivers in appliance/handsets enforce: kept
here, below both, so the config (and `python3 -m appliance.ops.firmware`, run by the installer with the system
Python) reads them without importing gpiozero, and the audio and modem adapters that read the config do not
reach the handset drivers through it.
"""

from __future__ import annotations

import math
import re

# What handset hardware can do, as ranges the drivers enforce and the config checks against.
RING_HZ = (15.0, 60.0)  # a SLIC's ringing frequency: 20 Hz by default, 25 Hz usual in Russia
BOUNCE_TIME = (0.0, 1.0)  # seconds a switch must settle; a contact still bouncing after a second is broken

# Ring cadences: how long a handset rings and rests, in turn.

# on, off, on, off ... seconds; the UK double ring is two short bursts then a rest.
CADENCES: dict[str, tuple[float, ...]] = {"ru": (1.0, 4.0), "na": (2.0, 4.0), "uk": (0.4, 0.2, 0.4, 2.0)}
# Each part, in seconds. Below 0.05 s a ring relay (it takes 5-15 ms to pull in) and a 20-25 Hz ringer (one
# cycle is 40-50 ms) make a click, not a ring; above 30 s one part is a ring that never pauses, or a pause in
# which an operator would think the ringing had stopped.
CADENCE_PART = (0.05, 30.0)


def check_cadence(cadence: object) -> tuple[float, ...]:
    """On, off, on, off ... seconds as a tuple: pairs, each part within CADENCE_PART; ValueError otherwise."""
    low, high = CADENCE_PART
    if not isinstance(cadence, list | tuple) or not cadence or len(cadence) % 2 or not all(
            isinstance(part, int | float) and not isinstance(part, bool) and math.isfinite(part)
            and low <= part <= high for part in cadence):
        raise ValueError(f"needs an even list of on/off seconds between {low:g} and {high:g}")
    return tuple(float(part) for part in cadence)


# Which GPIO pins a handset may be wired to: the one check of a pin, used by the config and the parts.
Pin = int  # a BCM GPIO number, as gpiozero and the firmware's gpio= lines take it

# A Raspberry Pi's 40-pin header brings out GPIO 0-27 only (every model since the B+, Pi 5 included). The
# SoC numbers 54 GPIOs, but 28-53 are wired on the board (SD card, HDMI, audio, Wi-Fi) or not at all: a
# relay or a cradle switch cannot be on them, and a `gpio=` line in config.txt for one would fight the board.
GPIO_PINS = range(0, 28)
_GPIO_NAME = re.compile(r"^(?:GPIO|BCM)(\d+)$", re.IGNORECASE)


def gpio_pin(value: object) -> Pin:
    """A BCM GPIO number on the Pi's header: 17, or the names "GPIO17" and "BCM17" (which become 17, so
    that a pin used twice under two names is caught). ValueError in the config's words otherwise."""
    if isinstance(value, str) and (name := _GPIO_NAME.match(value.strip())):
        value = int(name.group(1))
    if isinstance(value, int) and not isinstance(value, bool) and value in GPIO_PINS:
        return value
    raise ValueError(f"{value!r} is not a GPIO pin: use a BCM number 0-27 (or \"GPIO17\")")
