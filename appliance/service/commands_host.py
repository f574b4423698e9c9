"""What the control commands (commands.py, commands_calls.py) may use of the daemon, as a Protocol mypy checks.

The commands are given the daemon itself; this names the narrow part of it they reach, so a renamed or
retyped daemon member breaks the type check (tests/unit/test_types.py) instead of a command at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..config import Config
from ..core.clock import Clock
from ..core.switchboard import Switchboard
from ..ports import HandsetPort, PlayerPort, RecorderPort, Sound
from ..records.store.calls import CallStore
from .background import Pending
from .hooks import EventHook
from .listening import Listening

# a request's args -> its reply, or the work off the loop that makes it (background.Pending)
Command = Callable[[dict[str, Any]], dict[str, Any] | Pending]


@runtime_checkable
class CommandHost(Protocol):
    restart_requested: bool  # "Restart now": `hotline run` exits so the service manager starts it again

    @property
    def commands(self) -> dict[str, Command]: ...

    @property
    def config(self) -> Config: ...

    @property
    def core(self) -> Switchboard | None: ...  # None until started: the control socket opens after it

    @property
    def store(self) -> CallStore | None: ...

    @property
    def data_dir(self) -> Path: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def handsets(self) -> dict[str, HandsetPort]: ...

    @property
    def players(self) -> dict[str, PlayerPort]: ...

    @property
    def recorders(self) -> dict[str, RecorderPort]: ...

    @property
    def listening(self) -> Listening: ...

    @property
    def prompts(self) -> dict[str, Sound]: ...

    @property
    def hook(self) -> EventHook: ...

    def post(self, item: object) -> None: ...

    def post_later(self, delay: float, action: object) -> None: ...

    def stop(self) -> None: ...

    def run_actions(self, actions: list[object]) -> None: ...

    def reconfigure_later(self, config: Config, applied: Callable[[], dict[str, Any]]) -> Pending: ...

    def apply_override(self, state: dict[str, Any] | None) -> None: ...


def running(host: CommandHost) -> tuple[Switchboard, CallStore]:
    """The started daemon's core and store (a command only ever runs on a started daemon's loop)."""
    if host.core is None or host.store is None:
        raise RuntimeError("the daemon is not started")
    return host.core, host.store
