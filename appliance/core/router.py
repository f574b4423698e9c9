"""Which handsets ring for a caller who asked for a skill."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class HandsetState:
    id: str
    operator: str | None
    skills: frozenset[str]
    off_hook: bool = False
    ringing_for: str | None = None  # call id
    connected_to: str | None = None  # call id

    @property
    def state(self) -> str:
        if self.connected_to:
            return "on call"
        if self.ringing_for:
            return "ringing"
        return "off-hook" if self.off_hook else "idle"


@dataclass
class Router:
    """Ring-all among the free handsets with the skill, in config order."""

    handsets: dict[str, HandsetState] = field(default_factory=dict)

    def free_for(self, skill: str | None) -> list[str]:
        return [h.id for h in self.handsets.values() if _can_ring(h) and (skill is None or skill in h.skills)]


def _can_ring(handset: HandsetState) -> bool:
    # A lifted receiver cannot ring, and a handset already busy must not be offered a second caller.
    return not handset.off_hook and handset.ringing_for is None and handset.connected_to is None


def handset_states(specs: Iterable[tuple[str, str | None, Iterable[str]]]) -> dict[str, HandsetState]:
    return {hid: HandsetState(hid, operator, frozenset(skills)) for hid, operator, skills in specs}
