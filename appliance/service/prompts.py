"""The box's prompts, made off the event loop and never on it (espeak-ng and sox take seconds on a Pi).

At start the tones are there at once and the spoken prompts are looked up on the worker after READY=1, those not
in the cache made by one child process (audio/prompt_process.py): a caller who comes first hears each as soon as
it is made, and a prompt that cannot be made is a tone and an alarm, not a box
off the phone. A config applied from the web page has its prompts made before it is applied: the control
command's reply is deferred until then, and a prompt that cannot be made refuses the config.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..audio.catalog import render_prompts, tones
from ..audio.prompt_process import PromptProcess
from ..audio.prompts import PromptError
from ..config import Config
from ..ports import Sound
from .alarms import Alarms
from .background import OffLoop, Outcome, Pending

log = logging.getLogger(__name__)


class PromptMaker:
    def __init__(self, directory: Path, worker: OffLoop, alarms: Alarms) -> None:
        self.directory = directory
        self.worker = worker  # the daemon's one worker: configs applied one after another are made in order
        self.alarms = alarms
        self.sounds: dict[str, Sound] = {}  # updated in place: the actions read this same mapping
        self.made = threading.Event()  # set once the start's prompts are made (READY=1 does not wait)
        self.process = PromptProcess()  # stopped with the box: prompts not yet begun are then not made

    def stop(self) -> None:
        self.process.stop()

    def start(self, config: Config) -> None:
        """The tones, generated rather than made (once, then read from the cache): there before the first call."""
        self.sounds.update(tones(config, self.directory))

    def make(self, config: Config, then: Callable[[], None]) -> None:
        """Make the config's prompts off the loop; then() on the loop once they are (made or not)."""
        self.worker.run(lambda: self._render(config), lambda outcome: self._made(outcome, then))

    def _render(self, config: Config) -> tuple[dict[str, Sound], list[tuple[str, str]]]:
        problems: list[tuple[str, str]] = []  # a bad prompt is a tone and an alarm, not a box off the phone
        return render_prompts(config, self.directory, problems=problems, maker=self.process), problems

    def _made(self, outcome: Outcome, then: Callable[[], None]) -> None:
        try:
            sounds, problems = outcome()
        except (PromptError, OSError) as exc:  # a full disk: no prompt can be made, callers hear tones
            sounds, problems = {}, [("all", f"prompts could not be made ({exc}); callers hear a short tone instead")]
        self.sounds.update(sounds)
        for name, text in problems:
            self.alarms.set(f"prompt.{name}", "warning", text)
        self.made.set()
        log.info("prompts made: %d", len(self.sounds))
        then()

    def made_before(self, config: Config, then: Callable[[dict[str, Sound]], dict[str, Any]]) -> Pending:
        """A control command's reply deferred until `config`'s prompts are made off the loop (calls carry on
        meanwhile); then(prompts) on the loop applies them and gives the reply. A prompt that cannot be made
        refuses the config (ValueError) and the running one stays whole."""
        def made(outcome: Outcome) -> dict[str, Any]:
            try:
                prompts = outcome()
            except PromptError as exc:
                raise ValueError(str(exc)) from None
            return then(prompts)

        return Pending(lambda: render_prompts(config, self.directory, maker=self.process), made)

    def take(self, prompts: dict[str, Sound]) -> None:
        """A new config's prompts, all made: its sounds replace the old, and the old prompts' alarms go."""
        self.sounds.update(prompts)
        for alarm in self.alarms.active("prompt."):
            self.alarms.clear(alarm["id"])
