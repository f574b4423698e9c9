"""The whole box on virtual hardware: modem emulators on pseudo-terminals, mock pins, null audio.

Everything else is the real daemon; the simulation only stands in for the
things a laptop lacks, and lets a person (or a test) play caller and operator.
"""

from __future__ import annotations

import copy
from typing import Any

from .modem.emulator import ModemEmulator


class Simulation:
    def __init__(self, document: dict[str, Any], *, audio_device: str = "null") -> None:
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        self.document = copy.deepcopy(document)
        self.pin_factory = MockFactory(pin_class=MockPWMPin)
        self.emulators: dict[str, ModemEmulator] = {}
        for line in self.document.get("lines", []):
            emulator = ModemEmulator(line.get("dialect", "sim800") if line.get("dialect") != "auto" else "sim800")
            emulator.start()
            self.emulators[line["id"]] = emulator
            line["port"] = emulator.port
            line["audio_out"] = line["audio_in"] = audio_device
        self._hooks = {h["id"]: h for h in self.document.get("handsets", [])}

    def close(self) -> None:
        for emulator in self.emulators.values():
            emulator.stop()

    def commands(self) -> dict[str, Any]:
        """Control-socket commands that play the caller and the operators."""
        return {
            "sim.call": lambda a: self._line(a).incoming_call(a.get("caller")) or {"ringing": True},
            "sim.dtmf": lambda a: self._line(a).send_dtmf(str(a["digits"])) or {"sent": a["digits"]},
            "sim.hangup": lambda a: self._line(a).remote_hangup() or {"hung_up": True},
            "sim.offhook": lambda a: self._hook(a, lifted=True),
            "sim.onhook": lambda a: self._hook(a, lifted=False),
        }

    def _line(self, args: dict[str, Any]) -> ModemEmulator:
        line = args.get("line") or next(iter(self.emulators))
        if line not in self.emulators:
            raise KeyError(f"no simulated line {line!r}")
        return self.emulators[line]

    def _hook(self, args: dict[str, Any], *, lifted: bool) -> dict[str, Any]:
        spec = self._hooks.get(args.get("handset"))
        if spec is None:
            raise KeyError(f"no handset {args.get('handset')!r}")
        pin = self.pin_factory.pin(spec["hook_pin"])
        # A cradle switch closes to ground when lifted; a SLIC's switch-hook output goes high instead.
        low = lifted if spec.get("kind", "relay") == "relay" else not lifted
        pin.drive_low() if low else pin.drive_high()
        return {"handset": spec["id"], "off_hook": lifted}
