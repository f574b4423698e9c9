"""Pins a handset spec uses, for the config's pin-used-twice check and the firmware gpio= lines."""

from __future__ import annotations

import pytest

from appliance.handsets.devices import input_pins, output_pins

RELAY = {"id": "h1", "kind": "relay", "ring_pin": 17, "hook_pin": 27, "audio_pins": {"gsm1": 22}}
SLIC = {
    "id": "s1",
    "kind": "slic",
    "ring_mode_pin": "GPIO5",
    "fr_pin": "BCM6",
    "hook_pin": "13",
    "audio_pins": {"gsm1": 19, "gsm2": "J8:40"},
}


def test_relay_pins():
    assert output_pins(RELAY) == [17, 22]
    assert input_pins(RELAY) == [27]


def test_slic_pins_are_normalised_to_gpio_numbers():
    assert output_pins(SLIC) == [5, 6, 19, "J8:40"]
    assert input_pins(SLIC) == [13]


def test_a_pin_used_twice_in_one_handset_shows_twice():
    pins = output_pins({**RELAY, "audio_pins": {"gsm1": "GPIO17"}})
    assert pins == [17, 17]


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ({**RELAY, "ring_pin": True}, "ring_pin"),
        ({**RELAY, "kind": "x"}, "'x'"),
        ({k: v for k, v in RELAY.items() if k != "hook_pin"}, "hook_pin"),
    ],
)
def test_bad_pins_are_named(spec, named):
    with pytest.raises(ValueError, match=named):
        output_pins(spec)
        input_pins(spec)
