"""One attribute of the emulator's Script that lives in a part it owns (its messages, its USB voice).

Tests drive the emulated modem through `emulator.script.<attribute>`; the parts keep their own state, and
this keeps those names working without the Script inheriting from its parts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PartAttribute(Generic[T]):
    """`script.sent_sms` reads (and, when settable, writes) `script.messages.sent_sms`."""

    def __init__(self, part: Callable[[Any], object], *, settable: bool = False) -> None:
        self._part = part
        self._settable = settable
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, script: Any, owner: type | None = None) -> T:
        value: T = getattr(self._part(script), self._name)
        return value

    def __set__(self, script: Any, value: T) -> None:
        if not self._settable:
            raise AttributeError(f"{self._name} is read-only on the script")
        setattr(self._part(script), self._name, value)
