"""The fleet link's (appliance/fleet) events and the actions it needs: the siblings' offers and their callers on the
way here, heard from the broker; calling off a caller's move to a sibling, and telling that sibling who is coming
(core/moves.py)."""

from __future__ import annotations

from appliance.core.lean import lean

from ..siblings import Sibling


@lean(frozen=True)
class SiblingsHeard:
    """Every sibling as the broker last told of it (posted by the fleet link when a status or presence comes)."""

    siblings: tuple[Sibling, ...] = ()


@lean(frozen=True)
class CancelTransfer:
    """Call off the line's transfer to `number` in progress: the second leg is dropped, the caller taken back
    (TransferResult, not ok, follows). One that has gone through already is not undone."""

    line: str
    number: str
    reason: str


@lean(frozen=True)
class AnnounceMove:
    """Tell sibling `to` that a caller is on the way (before the transfer), or no longer is (`off`): what the caller
    chose here, so that box puts them straight in its queue. `caller` is the number as the core knows it: the fleet
    link decides what of it may cross the network (appliance/fleet/payloads.py)."""

    to: str
    call_id: str
    skill: str | None = None
    language: str | None = None
    waited: float = 0.0  # seconds the caller waited here for an operator
    caller: str | None = None
    off: bool = False
    landed: bool = False  # the other way: the caller sibling `to` announced (its `call_id`) is here now


@lean(frozen=True)
class MoveAnnounced:
    """A sibling said it is moving a caller to this box (or, `off`, that it no longer is); heard from the broker."""

    box: str  # the sibling sending the caller
    call_id: str  # its own call id: an `off` names the announcement it withdraws
    skill: str | None = None
    language: str | None = None
    waited: float = 0.0
    caller: str | None = None  # masked, and only when that box shares callers (docs/fleet.md)
    off: bool = False
    landed: bool = False  # the sibling says the caller this box sent it (`call_id`, ours) has reached it
