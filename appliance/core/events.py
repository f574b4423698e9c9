"""What the hardware tells the core (events) and what the core asks of it (actions).

Adapters post events into the daemon's single queue; the core answers each
event with a list of actions that the daemon hands back to the adapters.
Both are plain frozen dataclasses so they cross threads safely and compare
by value in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from .record import CallRecord

# --- events: adapters -> core -------------------------------------------------


@dataclass(frozen=True)
class IncomingCall:
    """The line rang (RING / +CRING / VOICE CALL / ring cadence on FXO)."""

    line: str
    caller: str | None = None  # None while unknown or withheld
    call_id: str | None = None  # the line's id for the call, noted in its answer journal before ATA
    waited: float = 0.0  # seconds since the RING: the line tells the core once its ATA is answered


@dataclass(frozen=True)
class CallerId:
    """Caller ID that arrived after the ring (+CLIP, NMBR = ...)."""

    line: str
    caller: str | None  # None when withheld


@dataclass(frozen=True)
class CallAnswered:
    """The modem accepted ATA (or went off-hook): audio now flows."""

    line: str


@dataclass(frozen=True)
class AnswerFailed:
    line: str
    reason: str


@dataclass(frozen=True)
class AnswerRetry:
    """The modem refused ATA (attempt n); the line answers again on the caller's next RING."""

    line: str
    attempt: int
    reason: str


@dataclass(frozen=True)
class DtmfReceived:
    line: str
    digit: str  # one of 0-9 * # A-D


@dataclass(frozen=True)
class RemoteHangup:
    """The far end went away (NO CARRIER, VOICE CALL: END, ^CEND, busy tone...)."""

    line: str
    reason: str = "caller hung up"


@dataclass(frozen=True)
class UnansweredCall:
    """A caller the line let go beside the call flow: a second caller turned away busy while a call was up
    (outcome rejected_busy), or a ring the modem itself reported missed (missed). Recorded, nothing else."""

    line: str
    caller: str | None
    outcome: str
    reason: str


@dataclass(frozen=True)
class LineDown:
    """The line can no longer carry calls; any call on it is lost."""

    line: str
    reason: str


@dataclass(frozen=True)
class LineUp:
    line: str


@dataclass(frozen=True)
class PromptFinished:
    """A prompt played to its end (not emitted when it was stopped)."""

    line: str
    prompt: str


@dataclass(frozen=True)
class HookOff:
    """A handset's receiver was lifted (debounced)."""

    handset: str


@dataclass(frozen=True)
class HookOn:
    handset: str


@dataclass(frozen=True)
class PresenceChanged:
    """The presence switch at a handset's desk: the operator sat down (present) or left."""

    handset: str
    present: bool


@dataclass(frozen=True)
class RecordingFinished:
    """A voicemail or call recording ended; path is None when it was discarded (too short)."""

    line: str
    path: str | None
    seconds: float
    reason: str  # "key", "silence", "max length", "stopped", "too short"


@dataclass(frozen=True)
class DialAnswered:
    """An outbound call (a callback) was answered by the far end."""

    line: str


@dataclass(frozen=True)
class DialFailed:
    line: str
    reason: str  # "busy", "no answer", "failed: ..."


@dataclass(frozen=True)
class SmsReceived:
    line: str
    sender: str | None
    text: str
    received_at: float


@dataclass(frozen=True)
class SmsResult:
    """The outcome of a SendSms: ok, or the modem's reason for refusing it."""

    line: str
    number: str
    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class TransferResult:
    line: str
    number: str
    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class RemoteAnswered:
    """A remote operator's phone, dialled with the caller held (RingRemote), picked up: the whisper plays to it."""

    line: str


@dataclass(frozen=True)
class RemoteFailed:
    """The remote leg is gone before the caller was joined to it (busy, no answer, hung up, a refusal); the
    caller is back on the line. `refused`: the SIM or network refuses hold or joining calls on this line."""

    line: str
    reason: str
    refused: bool = False


@dataclass(frozen=True)
class RemoteJoined:
    """The network joined the caller and the remote operator: how = "conference" (the line stays in the call)
    or "transfer" (explicit call transfer: the line is free, the two talk without the box)."""

    line: str
    how: str


@dataclass(frozen=True)
class SpeechHeard:
    """The recogniser's answer to a Recognise: the intent it heard, or None (unsure, nothing said, engine off)."""

    line: str
    call_id: str = ""
    intent: str | None = None
    confidence: float = 0.0
    reason: str | None = None  # why no intent: "unsure", "nothing heard", "busy", "failed: ..."


@dataclass(frozen=True)
class CallForwarded:
    """The network says the call arriving on the line was forwarded to it (+CSSU: 0), before or after its RING."""

    line: str


@dataclass(frozen=True)
class Transcribed:
    """A voicemail's text, made after the call by the recogniser (None: it could not be made, reason says why)."""

    call_id: str = ""
    text: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Tick:
    """Nothing happened but time passed: lets the core fire its timers."""


# --- actions: core -> adapters ------------------------------------------------


@dataclass(frozen=True)
class HangUp:
    line: str


@dataclass(frozen=True)
class Play:
    line: str
    prompt: str
    loop: bool = False


@dataclass(frozen=True)
class StopAudio:
    line: str


@dataclass(frozen=True)
class RingHandset:
    handset: str


@dataclass(frozen=True)
class StopRinging:
    handset: str


@dataclass(frozen=True)
class ConnectAudio:
    handset: str
    line: str


@dataclass(frozen=True)
class DisconnectAudio:
    handset: str


@dataclass(frozen=True)
class RingRemote:
    """Ring a remote operator's phone from the caller's own line: hold the caller, dial `number`."""

    line: str
    handset: str  # the operator's phone as the queue knows it (core/remote.py: "phone:<name>")
    number: str


@dataclass(frozen=True)
class DropRemote:
    """Hang up the remote leg (declined, timed out, someone else took the caller) and take the caller back."""

    line: str


@dataclass(frozen=True)
class JoinRemote:
    """The remote operator pressed 1: join them and the caller (conference, else explicit call transfer)."""

    line: str


@dataclass(frozen=True)
class MuteHandset:
    """Cut (or give back) a handset's microphone: a supervisor listening without being heard."""

    handset: str
    muted: bool


@dataclass(frozen=True)
class StartRecording:
    """Record the caller into path (compressed by the recorder); stop on '#' if stop_on_key."""

    line: str
    path: str
    max_seconds: float
    silence_seconds: float
    min_seconds: float
    stop_on_key: bool = True


@dataclass(frozen=True)
class StopRecording:
    line: str


@dataclass(frozen=True)
class Dial:
    line: str
    number: str


@dataclass(frozen=True)
class SendSms:
    line: str
    number: str
    text: str


@dataclass(frozen=True)
class Transfer:
    """Hand the caller to an external number (deflection / explicit transfer / conference per network)."""

    line: str
    number: str


@dataclass(frozen=True)
class Recognise:
    """Which of `intents` the caller said in the audio at `path` (deleted once heard); SpeechHeard answers."""

    line: str
    call_id: str
    path: str
    language: str
    intents: tuple[tuple[str, tuple[str, ...]], ...]  # (intent, its phrases in `language`)


@dataclass(frozen=True)
class SaveVoicemail:
    """A voicemail was recorded for this call (it may arrive after the call record was written)."""

    call_id: str
    path: str
    seconds: float
    caller: str | None


@dataclass(frozen=True)
class SaveRecording:
    """A whole-call recording (only when the box records calls, and the caller was told)."""

    call_id: str
    path: str
    seconds: float


@dataclass(frozen=True)
class SaveCallback:
    """A callback request, or an attempt at one: the store keeps the queue of callbacks to do."""

    request_id: str
    call_id: str | None
    number: str
    state: str  # "waiting", "ringing operator", "dialling", "done", "failed", "gave up"
    attempts: int
    detail: str | None = None


@dataclass(frozen=True)
class CallStarted:
    """Persist the call's opening so a crash mid-call leaves a trace."""

    call_id: str
    line: str
    caller: str | None
    started_at: float


@dataclass(frozen=True)
class CallerKnown:
    """The caller's number arrived after the call was opened (+CLIP after RING): the live record shows it."""

    call_id: str
    caller: str


@dataclass(frozen=True)
class CallConnected:
    """An operator took the call: shown live, and integrations hear of it now rather than at the end."""

    call_id: str
    handset: str
    operator: str | None
    at: float


@dataclass(frozen=True)
class CallEnded:
    """Persist the finished call: the whole record in one write."""

    record: CallRecord


Event = (
    IncomingCall | CallerId | CallForwarded | CallAnswered | AnswerFailed | AnswerRetry | DtmfReceived | RemoteHangup
    | UnansweredCall
    | LineDown
    | LineUp | PromptFinished | HookOff | HookOn | PresenceChanged | RecordingFinished | DialAnswered | DialFailed
    | SmsReceived | SmsResult | TransferResult | RemoteAnswered | RemoteFailed | RemoteJoined | SpeechHeard
    | Transcribed | Tick
)
Action = (
    HangUp | Play | StopAudio | RingHandset | StopRinging | ConnectAudio | DisconnectAudio
    | StartRecording | StopRecording | Dial | SendSms | Transfer | Recognise | SaveVoicemail | SaveRecording
    | SaveCallback | CallStarted | RingRemote | DropRemote | JoinRemote | MuteHandset
    | CallerKnown | CallConnected | CallEnded
)
