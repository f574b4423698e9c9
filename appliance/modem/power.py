"""A modem's PWRKEY (or RESET) line on a GPIO pin, pulsed to switch a silent modem off and on again.

SIM800 wants PWRKEY low for >1 s (to switch on or off), SIM7600 >0.5 s, Quectel EC25 >0.5 s; boards
put a transistor in between, which inverts the level: `active_high` says which level presses the key.
An instance is the `power_cycle` a ModemLine takes.
"""

from __future__ import annotations

import threading

from ..pins import Output


class PowerKey:
    def __init__(self, pin: int | str, *, pin_factory: object, pulse_seconds: float = 1.2,
                 active_high: bool = True) -> None:
        if not pulse_seconds > 0:
            raise ValueError(f"bad pulse_seconds {pulse_seconds!r} for the power key: must be above 0")
        self.pulse_seconds = pulse_seconds
        self._key = Output(pin, pin_factory=pin_factory, active_high=active_high)  # released from the start
        self._lock = threading.Lock()
        self._closed = threading.Event()  # close() during a pulse releases the key at once

    def __call__(self) -> None:
        """Press the key for `pulse_seconds`, then release it; blocks for the pulse."""
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("the power key is closed")
            self._key.switch(True)
            try:
                self._closed.wait(self.pulse_seconds)
            finally:
                self._key.switch(False)

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._key.close()
