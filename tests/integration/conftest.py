"""Fixtures of the integration tests: a SIM800 emulator on a pseudo-terminal and a real ModemLine on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from appliance.core.events import LineUp
from appliance.modem.line import ModemLine
from appliance.sim.emulator import ModemEmulator
from tests.support.modem_kit import Events


@pytest.fixture
def emulator() -> Iterator[ModemEmulator]:
    """A SIM800 emulator speaking its AT text on a real pseudo-terminal."""
    emu = ModemEmulator("sim800")
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def line(emulator, events) -> Iterator[ModemLine]:
    """A ModemLine on `emulator`, up: its first event, LineUp, already taken from `events`."""
    ln = ModemLine("gsm1", emulator.port, post=events.post, dialect="sim800")
    ln.start()
    assert events.next() == LineUp("gsm1")
    yield ln
    ln.close()
