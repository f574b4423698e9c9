"""The remote leg's part: a remote operator's phone dialled from the caller's line (core/remote.py), what
became of it, and what the core asks the line to do with it."""

from __future__ import annotations

from appliance.core.lean import lean

# --- events: adapters -> core -------------------------------------------------


@lean(frozen=True)
class RemoteAnswered:
    """A remote operator's phone, dialled with the caller held (RingRemote), picked up: the whisper plays to it."""

    line: str


@lean(frozen=True)
class RemoteFailed:
    """The remote leg is gone before the caller was joined to it (busy, no answer, hung up, a refusal); the
    caller is back on the line. `refused`: the SIM or network refuses hold or joining calls on this line."""

    line: str
    reason: str
    refused: bool = False


@lean(frozen=True)
class RemoteJoined:
    """The network joined the caller and the remote operator: how = "conference" (the line stays in the call)
    or "transfer" (explicit call transfer: the line is free, the two talk without the box)."""

    line: str
    how: str


# --- actions: core -> adapters ------------------------------------------------


@lean(frozen=True)
class RingRemote:
    """Ring a remote operator's phone from the caller's own line: hold the caller, dial `number`."""

    line: str
    handset: str  # the operator's phone as the queue knows it (core/remote.py: "phone:<name>")
    number: str


@lean(frozen=True)
class DropRemote:
    """Hang up the remote leg (declined, timed out, someone else took the caller) and take the caller back."""

    line: str


@lean(frozen=True)
class JoinRemote:
    """The remote operator pressed 1: join them and the caller (conference, else explicit call transfer)."""

    line: str


@lean(frozen=True)
class Bridge:
    """Carry two lines' audio into each other: a caller on `line` and a remote operator dialled on `leg`, a free
    line (core/remote.py). It lasts until either line's audio is stopped (StopAudio)."""

    line: str
    leg: str
