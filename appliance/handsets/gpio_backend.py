"""Choosing the real GPIO backend, explicitly rather than through gpiozero's global default."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# lgpio first: it is the only backend that works on a Pi 5, and works on older Pis too.
BACKENDS = (
    ("lgpio", "gpiozero.pins.lgpio", "LGPIOFactory"),
    ("rpigpio", "gpiozero.pins.rpigpio", "RPiGPIOFactory"),
    ("native", "gpiozero.pins.native", "NativeFactory"),
)


class NoGpioError(RuntimeError):
    pass


def real_pin_factory(preferred: str | None = None) -> Any:
    """The first backend that opens on this board; NoGpioError listing what each said otherwise."""
    import importlib
    import os

    if os.environ.get("GPIOZERO_PIN_FACTORY") == "mock":
        # gpiozero's own switch for running without a board: used to exercise `hotline run` off a Pi.
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        log.warning("GPIO is simulated (GPIOZERO_PIN_FACTORY=mock): no relay will really switch")
        return MockFactory(pin_class=MockPWMPin)
    failures = []
    for name, module, cls in BACKENDS:
        if preferred and name != preferred:
            continue
        try:
            factory = getattr(importlib.import_module(module), cls)()
        except Exception as exc:  # each backend fails in its own way off a Pi
            failures.append(f"{name}: {exc}")
            continue
        log.info("GPIO through %s", name)
        return factory
    raise NoGpioError("no GPIO backend could open this board's pins (" + "; ".join(failures) + ")")
