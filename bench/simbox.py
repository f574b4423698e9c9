"""A four-line box on simulated hardware, driven in-process, for the benches that place many calls.

The prompts are 60 ms tones (a WAV upload) rather than spoken text: they still play in real time
through the real player, but a call through menu and hand-off takes a fraction of a second, so
thousands of calls fit in minutes.
"""

from __future__ import annotations

import copy
import threading
import time
import wave
from pathlib import Path
from typing import Any

from appliance import config as configuration
from appliance.service import control
from appliance.sim.simulation import Simulation

LINES = ("gsm1", "gsm2", "gsm3", "gsm4")
HANDSETS = ("h1", "h2", "h3", "h4")
OPERATORS = ("Anna", "Boris", "Vera", "Gleb")
PROMPT_SECONDS = 0.06
MAX_WAIT = 1.0  # seconds a caller waits for an operator before the "nobody" prompt


def pins(handset: int) -> dict[str, Any]:
    """Six BCM pins per handset (ring, hook, one audio relay per line): 4 handsets use 2..25."""
    base = 2 + 6 * handset
    return {"ring_pin": base, "hook_pin": base + 1,
            "audio_pins": {line: base + 2 + i for i, line in enumerate(LINES)}}


def document(*, ring_timeout: float = 1.0) -> dict[str, Any]:
    """The built-in config grown to 4 lines and 4 handsets, with tiny prompts and a fast cadence."""
    doc = copy.deepcopy(configuration.default_document())
    template = doc["lines"][0]
    doc["lines"] = [dict(template, id=line) for line in LINES]
    doc["handsets"] = [
        {"id": h, "name": f"Desk {i + 1}", "operator": OPERATORS[i], "kind": "relay",
         "skills": ["legal", "psychology", "general"], **pins(i)}
        for i, h in enumerate(HANDSETS)
    ]
    doc["operators"] = [
        {"name": name, "skills": ["legal", "psychology", "general"], "ring_timeout": ring_timeout,
         "wrap_up": 0, "retry_pause": 0, "max_missed": 0}
        for name in OPERATORS
    ]
    doc["ringing"] = {"cadence": "custom", "custom": [0.2, 0.2]}
    doc["prompts"] = {name: {"file": "blip.wav"} for name in ("main_menu", "invalid", "nobody")}
    route = {"type": "route", "max_wait": MAX_WAIT, "next": "busy"}
    doc["flow"] = {"start": "menu", "nodes": {  # no greeting, survey or voicemail: menu, hand-off, goodbye
        "menu": {"type": "menu", "prompt": "main_menu", "invalid_prompt": "invalid", "timeout": 1, "retries": 1,
                 "keys": {"1": "legal", "2": "psychology", "0": "anyone"}, "on_timeout": "anyone"},
        "legal": dict(route, skill="legal"),
        "psychology": dict(route, skill="psychology"),
        "anyone": dict(route, skill="general"),
        "busy": {"type": "play", "prompt": "nobody", "next": "bye"},
        "bye": {"type": "hangup"},
    }}
    return doc


def write_blip(path: Path, seconds: float = PROMPT_SECONDS) -> None:
    """A short 440 Hz tone as an 8 kHz mono WAV: every prompt of the bench box."""
    import math
    from array import array

    samples = array("h", (int(4000 * math.sin(2 * math.pi * 440 * n / 8000)) for n in range(int(8000 * seconds))))
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(samples.tobytes())


class Box:
    """The real daemon on a Simulation with LINES and HANDSETS, its loop on a thread."""

    def __init__(self, data_dir: Path, doc: dict[str, Any] | None = None) -> None:
        self.data_dir = Path(data_dir)
        write_blip(self.data_dir / "uploads" / "blip.wav")
        self.simulation = Simulation(doc or document())
        config = configuration.parse(self.simulation.document, simulated=True)
        self.daemon = self.simulation.daemon(config, self.data_dir)
        self.handsets = {h["id"]: h for h in self.simulation.document["handsets"]}
        self._runner: threading.Thread | None = None

    def __enter__(self) -> Box:
        self.daemon.start()
        self._runner = threading.Thread(target=self.daemon.run, name="daemon-loop", daemon=True)
        self._runner.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.daemon.stop()
        if self._runner is not None:
            self._runner.join(10)
        self.simulation.close()

    def pin(self, number: int) -> Any:
        return self.simulation.pin_factory.pin(number)

    def ring_pins(self) -> list[Any]:
        return [self.pin(h["ring_pin"]) for h in self.handsets.values()]

    def output_pins(self) -> list[Any]:
        return [self.pin(n) for h in self.handsets.values() for n in (h["ring_pin"], *h["audio_pins"].values())]

    def all_pins(self) -> list[Any]:
        """Every pin of every handset, the hook switches the harness drives included."""
        return [*self.output_pins(), *(self.pin(h["hook_pin"]) for h in self.handsets.values())]

    def status(self) -> dict[str, Any]:
        """The daemon's status over its control socket, answered on the loop (so never torn)."""
        return control.call(self.daemon.control_path, "status")

    def line_call(self, line: str) -> dict[str, Any] | None:
        return next((c for c in self.status()["calls"] if c["line"] == line), None)

    def wait(self, predicate: Any, timeout: float, step: float = 0.005) -> bool:
        return wait(predicate, timeout, step)


def wait(predicate: Any, timeout: float, step: float = 0.02) -> bool:
    """Whether `predicate` came true within `timeout` seconds, looked at every `step`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def saw(commands: list[str], since: int, command: str) -> bool:
    """Whether the emulator received `command` at index `since` or later (no scan of the whole history)."""
    return any(c.upper() == command for c in commands[since:])
