"""The fleet link's (appliance/fleet) events and the action it needs of a line: the siblings' offers, heard
from the broker, and calling off a caller's move to one of them (core/moves.py)."""

from __future__ import annotations

from dataclasses import dataclass

from ..siblings import Sibling


@dataclass(frozen=True)
class SiblingsHeard:
    """Every sibling as the broker last told of it (posted by the fleet link when a status or presence comes)."""

    siblings: tuple[Sibling, ...] = ()


@dataclass(frozen=True)
class CancelTransfer:
    """Call off the line's transfer to `number` in progress: the second leg is dropped, the caller taken back
    (TransferResult, not ok, follows). One that has gone through already is not undone."""

    line: str
    number: str
    reason: str
