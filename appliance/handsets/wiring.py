"""Which GPIO pins a handset may be wired to: the one check of a pin, used by the config and the parts."""

from __future__ import annotations

import re

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
