"""What the hardware tells the core (events) and what the core asks of it (actions).

Adapters post events into the daemon's single queue; the core answers each
event with a list of actions that the daemon hands back to the adapters.
Both are plain frozen dataclasses so they cross threads safely and compare
by value in tests.

They live in a module per role, each holding the events one kind of adapter posts and the actions it carries out:
`line` (the modem line), `audio` (player, recorder, recogniser), `desk` (handsets and presence switches),
`remote_leg` (a remote operator's phone dialled from the caller's line), `fleet` (sibling boxes, core/moves.py)
and `records` (what the store keeps).
Callers use them through this package: `from appliance.core import events as ev; ev.HangUp(line)`.
"""

from __future__ import annotations

from appliance.core.lean import lean

from .audio import (
    Play,
    PromptFinished,
    Recognise,
    RecordingFinished,
    SpeechHeard,
    StartRecording,
    StopAudio,
    StopRecording,
    Transcribed,
)
from .desk import ConnectAudio, DisconnectAudio, HookOff, HookOn, MuteHandset, PresenceChanged, RingHandset, StopRinging
from .fleet import AnnounceMove, CancelTransfer, MoveAnnounced, SiblingsHeard
from .line import (
    AnswerFailed,
    AnswerRetry,
    CallAnswered,
    CallerId,
    CallForwarded,
    Dial,
    DialAnswered,
    DialFailed,
    DtmfReceived,
    HangUp,
    IncomingCall,
    LineDown,
    LineUp,
    RemoteHangup,
    SendSms,
    SmsReceived,
    SmsResult,
    Transfer,
    TransferResult,
    UnansweredCall,
)
from .records import CallConnected, CallEnded, CallerKnown, CallStarted, SaveCallback, SaveRecording, SaveVoicemail
from .remote_leg import Bridge, DropRemote, JoinRemote, RemoteAnswered, RemoteFailed, RemoteJoined, RingRemote


@lean(frozen=True)
class Tick:
    """Nothing happened but time passed: lets the core fire its timers."""


Event = (
    IncomingCall | CallerId | CallForwarded | CallAnswered | AnswerFailed | AnswerRetry | DtmfReceived | RemoteHangup
    | UnansweredCall | LineDown | LineUp | DialAnswered | DialFailed | SmsReceived | SmsResult | TransferResult
    | PromptFinished | RecordingFinished | SpeechHeard | Transcribed
    | HookOff | HookOn | PresenceChanged
    | RemoteAnswered | RemoteFailed | RemoteJoined
    | SiblingsHeard | MoveAnnounced
    | Tick
)
Action = (
    HangUp | Dial | SendSms | Transfer
    | Play | StopAudio | StartRecording | StopRecording | Recognise
    | RingHandset | StopRinging | ConnectAudio | DisconnectAudio | MuteHandset
    | RingRemote | DropRemote | JoinRemote | Bridge
    | CancelTransfer | AnnounceMove
    | SaveVoicemail | SaveRecording | SaveCallback | CallStarted | CallerKnown | CallConnected | CallEnded
)

__all__ = [
    "Action", "AnnounceMove", "AnswerFailed", "AnswerRetry", "Bridge", "CallAnswered", "CallConnected", "CallEnded",
    "CallForwarded", "CallStarted", "CancelTransfer", "CallerId", "CallerKnown", "ConnectAudio", "Dial",
    "DialAnswered", "DialFailed",
    "DisconnectAudio", "DropRemote", "DtmfReceived", "Event", "HangUp", "HookOff", "HookOn", "IncomingCall",
    "JoinRemote", "LineDown", "LineUp", "MoveAnnounced", "MuteHandset", "Play", "PresenceChanged", "PromptFinished",
    "Recognise",
    "RecordingFinished", "RemoteAnswered", "RemoteFailed", "RemoteHangup", "RemoteJoined", "RingHandset",
    "RingRemote", "SaveCallback", "SaveRecording", "SaveVoicemail", "SendSms", "SiblingsHeard", "SmsReceived",
    "SmsResult",
    "SpeechHeard", "StartRecording", "StopAudio", "StopRecording", "StopRinging", "Tick", "Transcribed",
    "Transfer", "TransferResult", "UnansweredCall",
]
