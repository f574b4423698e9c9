"""A sibling box of the fleet as the core sees it: what its retained status offers (core/moves.py).

Plain data, made by the fleet link (appliance/fleet/payloads.py) from each sibling's status and carried to the
core in `events.SiblingsHeard`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from appliance.core.lean import lean


@lean(frozen=True)
class Sibling:
    """What a sibling box's retained status offers (only online boxes that are open and give a number)."""

    box: str
    numbers: tuple[str, ...]  # the first is where callers are moved to; all are the caller IDs its lines show
    free: int = 0  # free operators
    free_skills: Mapping[str, int] = field(default_factory=dict)  # skill -> free operators who have it
    taking: bool = True  # online and within its working hours: it may be sent callers

    def offers(self, skill: str | None) -> int:
        if not self.taking or not self.numbers:
            return 0
        return self.free_skills.get(skill, 0) if skill else self.free
