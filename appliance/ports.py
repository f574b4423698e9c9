"""The hardware roles the service drives: one interface per role, as Mopidy's backends have.

The daemon (appliance/service) is typed against these and never against a concrete driver, so a
real modem, a voice modem's serial audio or the simulation's mock pins stand behind the same seam.
tests/unit/test_ports.py holds every real adapter to them, statically (mypy) and at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .core.clock import Clock

__all__ = ["Clock", "HandsetPort", "LinePort", "PlayerPort", "PresencePort", "RecorderPort", "Sound"]

Sound = bytes | Path  # a prompt: raw PCM in memory or a cached file (appliance.audio.player.Sound)


@runtime_checkable
class LinePort(Protocol):
    """One telephone line's modem: it answers by itself and posts call events; the service asks these."""

    def start(self) -> None: ...

    def hangup(self) -> None: ...

    def dial(self, number: str) -> None: ...

    def transfer(self, number: str) -> None: ...

    def call_off_transfer(self, number: str, reason: str) -> None: ...

    def ring_remote(self, number: str) -> None: ...

    def drop_remote(self) -> None: ...

    def join_remote(self) -> None: ...

    def send_sms(self, number: str, text: str) -> None: ...

    def status(self) -> dict[str, Any]: ...

    @property
    def iccid(self) -> str | None: ...

    def close(self) -> None: ...


@runtime_checkable
class PlayerPort(Protocol):
    """What the caller hears on a line: a prompt, once or looped, until stopped."""

    def open(self) -> None: ...

    def play(self, prompt: str, sound: Sound, loop: bool = False) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...

    @property
    def playing(self) -> bool: ...


@runtime_checkable
class RecorderPort(Protocol):
    """What the caller says on a line: listened to for keys, or recorded into a message."""

    def open(self) -> None: ...

    def listen(self) -> None: ...

    def stop_listening(self) -> None: ...

    def tap(self, sink: Callable[[bytes], bool]) -> None: ...

    def key(self, digit: str) -> None: ...

    def start(self, path: str, *, max_seconds: float, silence_seconds: float, min_seconds: float,
              stop_on_key: bool) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...

    @property
    def recording(self) -> bool: ...


@runtime_checkable
class HandsetPort(Protocol):
    """One operator's telephone: its ringer (relay or SLIC), its hook switch and its audio relays."""

    def ring(self) -> None: ...

    def stop_ringing(self) -> None: ...

    def connect(self, line: str) -> None: ...

    def disconnect(self) -> None: ...

    def mute(self, muted: bool) -> None: ...

    def off(self) -> None: ...

    def close(self) -> None: ...

    @property
    def is_off_hook(self) -> bool: ...

    @property
    def is_ringing(self) -> bool: ...


@runtime_checkable
class PresencePort(Protocol):
    """A desk's presence switch: is someone sitting at this handset."""

    @property
    def is_present(self) -> bool: ...

    def close(self) -> None: ...
