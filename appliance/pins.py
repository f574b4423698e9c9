"""One GPIO pin each, on gpiozero's pin API (`pin_factory.pin(n)`): what the box needs of gpiozero's devices.

The handsets' parts and the modem's power key drive or read a pin directly instead of through gpiozero's device
classes (DigitalOutputDevice, PWMOutputDevice, DigitalInputDevice), so the daemon loads only gpiozero's pin layer
(appliance/handsets/__init__.py). Each pin is reserved with the factory as a device reserves it, so two parts cannot
take one pin, and is given back on close. A pin is a BCM number or a name gpiozero knows ("GPIO17", "BOARD11").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PinName = int | str  # gpiozero takes either


class _Reserved:
    def __init__(self, number: PinName, pin_factory: object) -> None:
        self._number = number
        self._factory: Any = pin_factory  # gpiozero's Factory; None once closed
        self._factory.reserve_pins(self, number)  # GPIOPinInUse where a part holds it
        self._pin = self._factory.pin(number)

    def _conflicts_with(self, other: object) -> bool:  # asked by the factory's reservation, as of a device
        return True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on GPIO{self._number}>"

    def _release(self) -> None:
        if self._factory is not None:
            self._pin.close()
            self._factory.release_pins(self, self._number)
            self._factory = None


class Output(_Reserved):
    """A digital output (a relay's coil, a SLIC's control line): off from the moment it is made."""

    def __init__(self, number: PinName, *, pin_factory: object, active_high: bool = True) -> None:
        super().__init__(number, pin_factory)
        self._active_high = active_high
        self._pin.output_with_state(not active_high)  # off in one step: no blip on an active-low relay

    def switch(self, on: bool) -> None:
        self._pin.state = on == self._active_high

    def close(self) -> None:
        self._release()


class PwmOutput(_Reserved):
    """A pin making a square wave at `frequency` Hz; gpiozero's PinPWMUnsupported where the backend cannot."""

    def __init__(self, number: PinName, *, pin_factory: object, frequency: float) -> None:
        super().__init__(number, pin_factory)
        try:
            self._pin.function = "output"
            self._pin.frequency = frequency
            self._pin.state = 0.0
        except BaseException:
            self.close()
            raise

    def duty(self, fraction: float) -> None:
        """The share of each period the pin is high: 0 is off."""
        self._pin.state = fraction

    def close(self) -> None:
        if self._factory is not None:
            self._pin.frequency = None
        self._release()


class Input(_Reserved):
    """A switch's input with its pull resistor; `on_edge` is called (in the backend's thread) at every edge."""

    def __init__(self, number: PinName, *, pin_factory: object, pull_up: bool, on_edge: Callable[[], None]) -> None:
        super().__init__(number, pin_factory)
        self._active_state = not pull_up
        self._on_edge = on_edge
        try:
            self._pin.function = "input"
            pull = "up" if pull_up else "down"
            if self._pin.pull != pull:
                self._pin.pull = pull
            self._pin.bounce = None
            self._pin.edges = "both"
            self._pin.when_changed = self._changed  # a bound method: the pin keeps only a weak reference
        except BaseException:
            self.close()
            raise

    @property
    def is_active(self) -> bool:
        """Pulled up, the switch is active when it holds the pin low; pulled down, when it drives it high."""
        return bool(self._pin.state) == self._active_state

    def _changed(self, ticks: object, state: object) -> None:
        self._on_edge()

    def close(self) -> None:
        if self._factory is not None:
            self._pin.when_changed = None
        self._release()
