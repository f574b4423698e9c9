"""The daemon loads gpiozero's pin layer only (appliance/handsets/__init__.py), and its handsets still drive real
gpiozero pins; whatever asks for more of gpiozero gets it. Each test is a fresh interpreter: the test process has
loaded gpiozero its own way long before."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def fresh(code: str) -> dict:
    """Run `code` after `import appliance.handsets` in a new interpreter; what it printed last, as JSON."""
    script = f"import json, sys\nsys.path.insert(0, {str(REPO)!r})\nimport appliance.handsets\n{code}"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_handsets_drive_gpiozeros_mock_pins_without_its_device_classes():
    seen = fresh("""
import threading
from gpiozero.pins.mock import MockFactory, MockPWMPin
from appliance.config import HandsetConfig
from appliance.handsets.devices import build_handset
factory = MockFactory(pin_class=MockPWMPin)
posted, lifted = [], threading.Event()
def post(event):
    posted.append(type(event).__name__)
    lifted.set()
relay = build_handset(HandsetConfig(id="h1", kind="relay", ring_pin=17, hook_pin=27, audio_pins={"gsm1": 22}),
                      pin_factory=factory, cadence=(10.0, 1.0), post=post)
slic = build_handset(HandsetConfig(id="s1", kind="slic", ring_mode_pin=5, fr_pin=6, hook_pin=13,
                                   audio_pins={"gsm1": 19}), pin_factory=factory, cadence=(10.0, 1.0), post=post)
off = [factory.pin(n).state for n in (17, 22, 5, 6)]
relay.ring(); slic.ring()
while not (factory.pin(17).state and factory.pin(5).state):
    threading.Event().wait(0.01)
ringing = [factory.pin(n).state for n in (17, 5, 6)], factory.pin(6).frequency
factory.pin(27).drive_low()  # the relay handset's receiver lifted: its switch closes to ground
lifted.wait(30)
relay.close(); slic.close()
closed = [factory.pin(n).state for n in (17, 22, 5, 6)]
print(json.dumps({"off": off, "ringing": ringing, "posted": posted, "closed": closed,
                  "gpiozero": sorted(m for m in sys.modules if m.startswith(("gpiozero", "colorzero", "statistics")))}))
""")
    assert seen["off"] == [0, 0, 0, 0]
    assert seen["ringing"] == [[1, 1, 0.5], 20.0]  # relay closed; SLIC in ring mode, F/R a 20 Hz square wave
    assert seen["posted"] == ["HookOff"]
    assert seen["closed"] == [0, 0, 0, 0]
    assert seen["gpiozero"] == ["gpiozero", "gpiozero.compat", "gpiozero.devices", "gpiozero.exc", "gpiozero.mixins",
                                "gpiozero.pins", "gpiozero.pins.data", "gpiozero.pins.mock", "gpiozero.pins.pi",
                                "gpiozero.pins.spi", "gpiozero.pins.style", "gpiozero.threads"]


def test_a_modem_power_key_pulses_its_pin_on_the_pin_layer():
    seen = fresh("""
from gpiozero.pins.mock import MockFactory
from appliance.modem.power import PowerKey
factory = MockFactory()
key = PowerKey(23, pin_factory=factory, pulse_seconds=0.05, active_high=False)  # a transistor inverts the level
key()
key.close()
print(json.dumps({"levels": [s.state for s in factory.pin(23).states][-3:],
                  "devices": sorted(m for m in sys.modules if m.endswith("_devices") or m.startswith("colorzero"))}))
""")
    assert seen == {"levels": [True, False, True], "devices": []}  # released, pressed (low), released


def test_a_device_class_asked_of_gpiozero_later_loads_the_rest_of_it():
    seen = fresh("""
from gpiozero.pins.mock import MockFactory
from gpiozero import LED, Button  # gpiozero's __init__ runs now
from gpiozero.devices import Device
import gpiozero.mixins, statistics
factory = Device.pin_factory = MockFactory()  # software SPI builds its bus on the default factory
led = LED(4, pin_factory=factory)
led.on()
bus = factory.spi(clock_pin=11, mosi_pin=10, miso_pin=9, select_pin=8)  # its OutputDevice, deferred, made now
print(json.dumps({"led": factory.pin(4).state, "spi": type(bus).__name__, "statistics": statistics.__file__ is not None,
                  "median": gpiozero.mixins.median([5, 1, 3]), "colorzero": "colorzero" in sys.modules}))
""")
    assert seen == {"led": True, "spi": "MockSPIInterface", "statistics": True, "median": 3, "colorzero": True}


def test_the_backends_modules_load_on_the_pin_layer():
    """The daemon's real factories (gpio_backend.py) import their modules after the pin layer alone: the native one
    always; lgpio's and RPi.GPIO's where their library is installed (a Pi), and there they open the board."""
    assert fresh("import gpiozero.pins.native; print(json.dumps(gpiozero.pins.native.NativeFactory.__name__))") \
        == "NativeFactory"


@pytest.mark.parametrize(("library", "module", "factory"), [("lgpio", "gpiozero.pins.lgpio", "LGPIOFactory"),
                                                            ("RPi", "gpiozero.pins.rpigpio", "RPiGPIOFactory")])
def test_a_pi_backend_opens_the_board_on_the_pin_layer(library, module, factory):
    if importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed here (a Pi's backend: its library needs the board)")
    assert fresh(f"from {module} import {factory}; f = {factory}(); f.pin(17).output_with_state(False); "
                 f"print(json.dumps(f.pin(17).state))") == 0


def test_a_gpiozero_whose_pin_layer_imports_more_is_loaded_whole():
    seen = fresh("""
import appliance.handsets as loader
for name in [m for m in sys.modules if m.startswith("gpiozero")]:
    del sys.modules[name]
loader.DEFERRED["gpiozero.output_devices"] = ()  # as if its software SPI imported a name not deferred
loader._load_pin_layer()
from gpiozero.pins.mock import MockFactory
import gpiozero
print(json.dumps({"boards": "gpiozero.boards" in sys.modules, "led": gpiozero.LED.__module__}))
""")
    assert seen == {"boards": True, "led": "gpiozero.output_devices"}
