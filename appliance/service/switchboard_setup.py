"""Building the switchboard from a checked config: the one place the core meets the config document."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

from ..config import Config
from ..core.call import new_id as new_call_id
from ..core.clock import Clock
from ..core.operators import Operators
from ..core.switchboard import Switchboard
from .line_audio import SERIAL_AUDIO_DIALECTS


def make_operators(config: Config, now: float, wall: float, synced: bool = True) -> Operators:
    """Fresh operator states: everyone named on a handset is logged in there, unless the roster says otherwise."""
    people = config.people
    operators = Operators([dataclasses.replace(o) for o in people.operators], people.roster)
    on_roster = {s.operator for s in people.roster.shifts} if people.roster else set()
    for name, handset in people.logins.items():
        if name not in on_roster:
            operators.login(name, handset, wall, manual=False)
    operators.tick(now, wall, roster=synced)
    return operators


def make_switchboard(config: Config, clock: Clock, *, prompts: set[str] | None = None,
                     new_id: Callable[[], str] = new_call_id,
                     rng: random.Random | None = None) -> Switchboard:
    board = Switchboard(
        lines=[line.id for line in config.lines],
        handsets=[handset.id for handset in config.handsets],
        operators=make_operators(config, clock.monotonic(), clock.wall(), clock.synced()),
        flow=config.flow, schedule=config.schedule, clock=clock,
        queue=config.people.queue, callers=config.people.callers, callbacks=config.people.callbacks,
        prompts=prompts if prompts is not None else set(config.prompts),
        recording_prompt=config.records.recording_prompt, new_id=new_id, rng=rng,
        presence={handset.id: handset.operator for handset in config.handsets
                  if handset.presence_pin is not None and handset.operator},
        move_after=config.fleet.move_after if config.fleet is not None else 0.0,
    )
    board.desks.audio_lines = {handset.id: set(handset.audio_pins) for handset in config.handsets}
    board.desks.bus_lines = {line.id for line in config.lines if line.audio == "alsa"
                             and line.dialect not in SERIAL_AUDIO_DIALECTS}
    if board.queue.lines is not None:  # a V.253 modem's audio is its serial port's, one way at a time: no bridge
        board.queue.lines.bridgeable = {line.id for line in config.lines if line.dialect not in SERIAL_AUDIO_DIALECTS}
    return board
