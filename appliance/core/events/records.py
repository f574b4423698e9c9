"""What the box keeps: the call's opening, its live changes and its whole record, voicemail, recordings and
callback requests, for the store (and through it the web page and the integrations)."""

from __future__ import annotations

from appliance.core.lean import lean

from ..record import CallRecord

# --- actions: core -> adapters ------------------------------------------------


@lean(frozen=True)
class SaveVoicemail:
    """A voicemail was recorded for this call (it may arrive after the call record was written)."""

    call_id: str
    path: str
    seconds: float
    caller: str | None


@lean(frozen=True)
class SaveRecording:
    """A whole-call recording (only when the box records calls, and the caller was told)."""

    call_id: str
    path: str
    seconds: float


@lean(frozen=True)
class SaveCallback:
    """A callback request, or an attempt at one: the store keeps the queue of callbacks to do."""

    request_id: str
    call_id: str | None
    number: str
    state: str  # "waiting", "ringing operator", "dialling", "done", "failed", "gave up"
    attempts: int
    detail: str | None = None


@lean(frozen=True)
class CallStarted:
    """Persist the call's opening so a crash mid-call leaves a trace."""

    call_id: str
    line: str
    caller: str | None
    started_at: float


@lean(frozen=True)
class CallerKnown:
    """The caller's number arrived after the call was opened (+CLIP after RING): the live record shows it."""

    call_id: str
    caller: str


@lean(frozen=True)
class CallConnected:
    """An operator took the call: shown live, and integrations hear of it now rather than at the end."""

    call_id: str
    handset: str
    operator: str | None
    at: float


@lean(frozen=True)
class CallEnded:
    """Persist the finished call: the whole record in one write."""

    record: CallRecord
