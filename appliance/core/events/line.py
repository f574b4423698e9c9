"""The line's part: what a modem line tells the core (a call rang, was answered, ended; keys; SMS) and what the
core asks of it (hang up, dial, send an SMS, transfer the caller)."""

from __future__ import annotations

from dataclasses import field

from appliance.core.lean import lean

# --- events: adapters -> core -------------------------------------------------


@lean(frozen=True)
class IncomingCall:
    """The line rang (RING / +CRING / VOICE CALL / ring cadence on FXO)."""

    line: str
    caller: str | None = None  # None while unknown or withheld
    call_id: str | None = None  # the line's id for the call, noted in its answer journal before ATA
    waited: float = 0.0  # seconds since the RING: the line tells the core once its ATA is answered


@lean(frozen=True)
class CallerId:
    """Caller ID that arrived after the ring (+CLIP, NMBR = ...)."""

    line: str
    caller: str | None  # None when withheld


@lean(frozen=True)
class CallForwarded:
    """The network says the call arriving on the line was forwarded to it (+CSSU: 0), before or after its RING."""

    line: str


@lean(frozen=True)
class CallAnswered:
    """The modem accepted ATA (or went off-hook): audio now flows."""

    line: str


@lean(frozen=True)
class AnswerFailed:
    line: str
    reason: str


@lean(frozen=True)
class AnswerRetry:
    """The modem refused ATA (attempt n); the line answers again on the caller's next RING."""

    line: str
    attempt: int
    reason: str


@lean(frozen=True)
class DtmfReceived:
    line: str
    digit: str  # one of 0-9 * # A-D


@lean(frozen=True)
class RemoteHangup:
    """The far end went away (NO CARRIER, VOICE CALL: END, ^CEND, busy tone...)."""

    line: str
    reason: str = "caller hung up"


@lean(frozen=True)
class UnansweredCall:
    """A caller the line let go beside the call flow: a second caller turned away busy while a call was up
    (outcome rejected_busy), or a ring the modem itself reported missed (missed). Recorded, nothing else."""

    line: str
    caller: str | None
    outcome: str
    reason: str


@lean(frozen=True)
class LineDown:
    """The line can no longer carry calls; any call on it is lost."""

    line: str
    reason: str


@lean(frozen=True)
class LineUp:
    line: str
    # The line can hand a call on (GSM); an analogue (V.253) line cannot (core/moves.py). What the line can do, not
    # which event this is: left out of comparisons, so LineUp("l1") is every line's coming up.
    transfers: bool = field(default=True, compare=False)


@lean(frozen=True)
class DialAnswered:
    """An outbound call (a callback) was answered by the far end."""

    line: str


@lean(frozen=True)
class DialFailed:
    line: str
    reason: str  # "busy", "no answer", "failed: ..."


@lean(frozen=True)
class SmsReceived:
    line: str
    sender: str | None
    text: str
    received_at: float


@lean(frozen=True)
class SmsResult:
    """The outcome of a SendSms: ok, or the modem's reason for refusing it."""

    line: str
    number: str
    ok: bool
    reason: str | None = None


@lean(frozen=True)
class TransferResult:
    line: str
    number: str
    ok: bool
    reason: str | None = None


# --- actions: core -> adapters ------------------------------------------------


@lean(frozen=True)
class HangUp:
    line: str


@lean(frozen=True)
class Dial:
    line: str
    number: str


@lean(frozen=True)
class SendSms:
    line: str
    number: str
    text: str


@lean(frozen=True)
class Transfer:
    """Hand the caller to an external number (deflection / explicit transfer / conference per network)."""

    line: str
    number: str
