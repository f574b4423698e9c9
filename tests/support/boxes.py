"""The real daemon on simulated hardware (modem emulators on ptys, gpiozero's MockFactory, ALSA null or file),
its loop in a thread: the box most system tests run against, started and stopped in one place; and the config
file of a `hotline run` on a modem emulator."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import tomli_w

from appliance import config as configuration
from appliance.sim.simulation import Simulation
from tests.support import prompt_seed


@contextlib.contextmanager
def running_daemon(simulation: Simulation, data: Path) -> Iterator[Any]:
    """The daemon of `simulation` on the data directory `data`; start() raises if it cannot start.

    On leaving, the daemon stops and its loop is joined, so the next daemon on `data` finds it free."""
    daemon = simulation.daemon(configuration.parse(simulation.document, simulated=True), data)
    daemon.start()
    loop = threading.Thread(target=daemon.run, daemon=True)
    loop.start()
    try:
        # READY=1 does not wait for the prompts: the tests compare what callers hear with the prompt files
        assert daemon.prompts_made.wait(120), "the box's prompts were not made within 120 s"
        yield daemon
    finally:
        daemon.stop()
        loop.join(10)


@contextlib.contextmanager
def simulated_box(data: Path, document: dict[str, Any] | None = None, *,
                  audio_device: str = "null") -> Iterator[tuple[Any, Simulation]]:
    """A running daemon and its simulation for `document` (the shipped default unless given) on `data`;
    the emulators are closed on leaving."""
    simulation = Simulation(configuration.default_document() if document is None else document,
                            audio_device=audio_device)
    try:
        prompt_seed.seed(data)
        with running_daemon(simulation, data) as daemon:
            prompt_seed.keep(data)
            yield daemon, simulation
    finally:
        simulation.close()


def write_config(path, port: str, greeting: str = "Hello.") -> None:
    document = copy.deepcopy(configuration.default_document())
    document["lines"][0]["port"] = port
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    document["prompts"]["greeting"]["text"] = greeting
    path.write_text(tomli_w.dumps(document))
