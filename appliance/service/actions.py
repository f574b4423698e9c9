"""The adapters' side of the loop: what they must hear of an event, and the core's actions carried out.

Each action is one adapter call or one record written. A failure here is the daemon's to handle (it
aborts that line's call); this module only says which adapter does what.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from ..audio.player import AlsaPlayer
from ..audio.relay import Relay
from ..core import events as ev
from ..core.clock import Clock
from ..core.nodes import BEEP
from ..core.switchboard import Switchboard
from ..modem.answer_journal import AnswerJournal
from ..ports import Sound
from ..records.privacy import appear
from ..records.store.calls import CallStore
from . import heap
from .adapters import Adapters
from .refusals import RefusalMemory
from .speech import SpeechService

log = logging.getLogger(__name__)


class Actions:
    def __init__(self, adapters: Adapters, *, core: Switchboard, store: CallStore, answers: AnswerJournal,
                 prompts: Mapping[str, Sound], clock: Clock, data_dir: Path, speech: SpeechService) -> None:
        self.adapters, self.core, self.store, self.answers = adapters, core, store, answers
        self.speech = speech
        self.prompts = prompts  # the daemon's own mapping: a reconfigure updates it in place
        self.clock, self.data_dir = clock, data_dir
        # line -> (prompt, loop) asked for while the prompt was still being made (a first start): played when it is
        self.waiting: dict[str, tuple[str, bool]] = {}
        # a network's refusal of hold or joining calls outlives a restart, per line and SIM
        self.refusals = RefusalMemory(data_dir, core.queue.remote_refused, self._iccid, clock.wall)

    def prompts_made(self) -> None:
        """The start's prompts are made: each caller waiting for one hears it now (a prompt that could not be
        made at all, a queue announcement, is a short tone)."""
        waiting, self.waiting = self.waiting, {}
        for line, (prompt, loop) in waiting.items():
            self.adapters.players[line].play(prompt, self.prompts.get(prompt, self.prompts[BEEP]), loop)

    def observe(self, event: object) -> None:
        """What the adapters must hear of an event before the core answers it."""
        recorders = self.adapters.recorders
        match event:
            case ev.LineUp(line=line):
                self.refusals.line_up(line)
            case ev.RemoteFailed(line=line, reason=reason, refused=True):
                self.refusals.noted(line, reason)
            case ev.CallAnswered(line=line) if line in recorders:
                recorders[line].listen()  # the software DTMF receiver, where the modem has none
            case ev.RemoteAnswered(line=line) if line in recorders:
                recorders[line].listen()  # the remote operator's key, where the modem reports none
            case ev.DtmfReceived(line=line, digit=digit) if line in recorders:
                recorders[line].key(digit)  # '#' ends a voicemail
            case ev.Transcribed(call_id=call_id, text=text) if text:
                self.store.voicemail_transcribed(call_id, text)
            case ev.Transcribed(call_id=call_id, reason=reason):
                log.warning("voicemail of call %s has no transcript: %s", call_id, reason or "nothing heard")
            case ev.SmsReceived():
                self.store.record_sms(event.line, "in", event.sender or "", event.text, at=event.received_at)
            case ev.SmsResult(ok=False):
                log.warning("SMS to %s on %s failed: %s", appear(event.number, "log", policy=self.store.privacy),
                            event.line, event.reason)

    def _iccid(self, line: str) -> str | None:
        modem = self.adapters.lines.get(line)
        return modem.iccid if modem is not None else None

    def apply(self, action: object) -> None:
        lines, players, recorders = self.adapters.lines, self.adapters.players, self.adapters.recorders
        handsets = self.adapters.handsets
        match action:
            case ev.HangUp(line=line):
                self.waiting.pop(line, None)
                lines[line].hangup()
                if line in recorders:
                    recorders[line].stop_listening()  # a remote leg's line has no record whose end would do it
            case ev.Play(line=line, prompt=prompt, loop=loop):
                if prompt in self.prompts:
                    self.waiting.pop(line, None)
                    players[line].play(prompt, self.prompts[prompt], loop)
                else:
                    self.waiting[line] = (prompt, loop)
                if line in recorders and (self.core.line_calls.get(line) is not None or self.core.remote.is_leg(line)):
                    recorders[line].listen()  # the flow speaks: a key may answer it (again, after an operator)
            case ev.StopAudio(line=line):
                self.waiting.pop(line, None)
                players[line].stop()
            case ev.RingHandset(handset=handset):
                handsets[handset].ring()
            case ev.StopRinging(handset=handset):
                handsets[handset].stop_ringing()
            case ev.ConnectAudio(handset=handset, line=line):
                handsets[handset].connect(line)
                if line in recorders:
                    recorders[line].stop_listening()  # caller and operator talk: no key means anything
            case ev.DisconnectAudio(handset=handset):
                handsets[handset].disconnect()
            case ev.MuteHandset(handset=handset, muted=muted):
                handsets[handset].mute(muted)
            case ev.StartRecording(line=line):
                recorders[line].start(str(self.data_dir / action.path), max_seconds=action.max_seconds,
                                      silence_seconds=action.silence_seconds, min_seconds=action.min_seconds,
                                      stop_on_key=action.stop_on_key)
            case ev.StopRecording(line=line):
                recorders[line].stop()
            case ev.Dial(line=line, number=number):
                lines[line].dial(number)
            case ev.SendSms(line=line, number=number, text=text):
                lines[line].send_sms(number, text)
                self.store.record_sms(line, "out", number, text, at=self.clock.wall())
            case ev.Transfer(line=line, number=number):
                lines[line].transfer(number)
            case ev.CancelTransfer(line=line, number=number, reason=reason):
                lines[line].call_off_transfer(number, reason)
            case ev.AnnounceMove():
                pass  # the fleet link sends it: it hears every action through the event hook (core/box_events.py)
            case ev.RingRemote(line=line, number=number):
                lines[line].ring_remote(number)
            case ev.DropRemote(line=line):
                lines[line].drop_remote()
            case ev.Bridge(line=line, leg=leg):
                for source, target in ((line, leg), (leg, line)):
                    player = players[target]
                    if not isinstance(player, AlsaPlayer):
                        raise TypeError(f"line {target}'s audio (a voice modem's serial port) cannot be bridged")
                    relay = Relay()
                    player.carry(relay, source)
                    recorders[source].tap(relay.put)
                    recorders[source].stop_listening()  # caller and operator talk: no key means anything
            case ev.JoinRemote(line=line):
                lines[line].join_remote()
                if line in recorders:
                    recorders[line].stop_listening()  # caller and operator talk: no key means anything
            case ev.SaveVoicemail():
                self.store.voicemail_saved(action.call_id, action.path, action.seconds, action.caller,
                                           at=self.clock.wall())
                self.speech.transcribe(action.call_id, str(self.data_dir / action.path))
            case ev.Recognise():
                self.speech.recognise(action)
            case ev.SaveRecording():
                self.store.recording_saved(action.call_id, action.path, action.seconds, at=self.clock.wall())
            case ev.SaveCallback():
                self.store.callback_update(action.request_id, action.call_id, action.number, action.state,
                                           action.attempts, action.detail, at=self.clock.wall())
            case ev.CallerKnown():
                self.store.caller_known(action.call_id, action.caller)
                self.answers.settled(action.call_id)
            case ev.CallConnected():
                self.store.call_connected(action.call_id, action.handset, action.operator, action.at)
            case ev.CallStarted():
                self.store.call_started(action.call_id, action.line, action.caller, action.started_at)
                # The answer's journal entry goes once the record holds all it holds: a number read after the
                # RING (the line answers before it) is written by CallerKnown, and a crash before that write
                # left an answered caller's record with no number. A withheld number settles at the call's end.
                if action.caller is not None:
                    self.answers.settled(action.call_id)
            case ev.CallEnded(record=record):
                if record.line in recorders and self.core.line_calls.get(record.line) is None:
                    recorders[record.line].stop_listening()  # not for a waiting caller turned away
                self.store.call_ended(record.as_dict())
                self.answers.settled(record.id)
                if not self.core.live_calls:
                    self.store.idle()  # the writer's cached pages freed first, for the trim to give back
                    heap.trim()  # the box's last call is over: what its calls freed goes back to the system
            case _:
                raise TypeError(f"unknown action {action!r}")
