"""The desks' part: receivers and presence switches at the operators' handsets, and what the core asks of a
handset (ring, connect to a line's audio, mute)."""

from __future__ import annotations

from appliance.core.lean import lean

# --- events: adapters -> core -------------------------------------------------


@lean(frozen=True)
class HookOff:
    """A handset's receiver was lifted (debounced)."""

    handset: str


@lean(frozen=True)
class HookOn:
    handset: str


@lean(frozen=True)
class PresenceChanged:
    """The presence switch at a handset's desk: the operator sat down (present) or left."""

    handset: str
    present: bool


# --- actions: core -> adapters ------------------------------------------------


@lean(frozen=True)
class RingHandset:
    handset: str


@lean(frozen=True)
class StopRinging:
    handset: str


@lean(frozen=True)
class ConnectAudio:
    handset: str
    line: str


@lean(frozen=True)
class DisconnectAudio:
    handset: str


@lean(frozen=True)
class MuteHandset:
    """Cut (or give back) a handset's microphone: a supervisor listening without being heard."""

    handset: str
    muted: bool
