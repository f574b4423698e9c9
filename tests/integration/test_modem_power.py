"""The modem's power key on a GPIO pin, through gpiozero's MockFactory."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.modem.power import PowerKey


@pytest.fixture
def factory():
    factory = MockFactory()
    yield factory
    factory.reset()


@pytest.mark.parametrize("active_high", [True, False])
def test_a_pulse_presses_the_key_for_its_length_then_releases_it(factory, active_high):
    key = PowerKey(23, pin_factory=factory, pulse_seconds=0.3, active_high=active_high)
    pin = factory.pin(23)
    try:
        key()
        pressed, released = active_high, not active_high
        levels = [s.state for s in pin.states]
        assert levels[-3:] == [released, pressed, released]  # released at start, one press, released after
        held = pin.states[-1].timestamp - pin.states[-2].timestamp
        assert held >= 0.3 - 0.01  # never shorter than asked: a SIM800 ignores a press under 1 s
        assert held < 5.0
    finally:
        key.close()


def test_the_key_is_released_when_closed_and_refuses_later_pulses(factory):
    key = PowerKey(24, pin_factory=factory, pulse_seconds=0.05)
    key()
    key.close()
    with pytest.raises(RuntimeError, match="closed"):
        key()


def test_a_bad_pulse_length_is_refused_by_name(factory):
    with pytest.raises(ValueError, match="pulse_seconds"):
        PowerKey(25, pin_factory=factory, pulse_seconds=0)
    PowerKey(25, pin_factory=factory).close()  # the refused one did not keep the pin
