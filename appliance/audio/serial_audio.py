"""Prompts and caller audio over a V.253 voice modem's serial port (AT+VTX / AT+VRX with <DLE> framing).

The same prompt API as AlsaPlayer, and a capture source AlsaRecorder reads through its `open_pcm`.
A voice modem is half duplex: one worker thread per line either transmits the prompt asked for, or
receives while a recording is open, or leaves the port alone. The port is borrowed from the line for
each session (`borrow()` is a context manager lending the pyserial port exclusively), because while
the modem streams audio every byte is sound, not AT text. Samples are converted between the line's
16-bit 8 kHz PCM and the modem's format by voice_format.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ..core.events import DtmfReceived, PromptFinished, RemoteHangup
from ..modem.at import ModemError
from ..modem.dialects.base import DTMF_DIGITS
from ..modem.dialects.v253 import HANGUP_CODES
from .player import LEAD_PERIODS, Sound, pcm_of
from .voice_format import (
    ABORT_TRANSMIT,
    BYTES_PER_SAMPLE,
    END_RECEIVE,
    END_TRANSMIT,
    DleReader,
    from_modem,
    pick_format,
    shield,
    to_modem,
)

log = logging.getLogger(__name__)

READ_SLICE = 0.05  # longest a blocking port read lasts, so a stop is seen within a few periods


class VoiceModemError(ModemError):
    """The voice modem refused or did not answer; the message names the line and the command."""


class SerialAudio:
    def __init__(
        self,
        line_id: str,
        borrow: Callable[[], AbstractContextManager[Any]],
        *,
        post: Callable[[object], None],
        rate: int = 8000,
        period_frames: int = 160,
        prefer: tuple[str, ...] = ("s16", "ulaw", "alaw", "u8"),
        command_timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        on_code: Callable[[str], None] | None = None,
    ) -> None:
        """`on_code(code)`, when given, gets every <DLE> code the modem sends (ModemLine.heard, so the line's
        call state follows); without it keys and hang-up tones are posted as events here."""
        unknown = [f for f in prefer if f not in BYTES_PER_SAMPLE]
        if unknown or not prefer:
            raise ValueError(f"line {line_id}: unknown voice sample format(s) {unknown or prefer!r}; "
                             f"known: {', '.join(BYTES_PER_SAMPLE)}")
        self.line_id = line_id
        self.rate = rate
        self.period_frames = period_frames
        self.format: str | None = None  # chosen by open()
        self.frames_sent = 0
        self._borrow = borrow
        self._post = post
        self._prefer = prefer
        self._timeout = command_timeout
        self._clock = clock
        self._on_code = on_code
        self._wake = threading.Condition()
        self._job: tuple[str, Sound, bool] | None = None
        self._generation = 0
        self._receivers = 0  # open capture sources: while > 0 and nothing plays, the modem receives
        self._heard = bytearray()  # received line PCM not yet read by the capture source
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"voice-{line_id}", daemon=True)
        self._thread.start()

    # --- the player's interface ----------------------------------------------------------

    def open(self) -> None:
        """Ask the modem which sample formats it has (AT+VSM=?) and select the best one at the line rate."""
        if self.format is not None:
            return
        with self._borrow() as port:
            session = _Session(port, self.line_id, self._timeout)
            offered = pick_format(session.command("AT+VSM=?")[0], self.rate, self._prefer)
            for kind, cml in offered:
                if session.command(f"AT+VSM={cml},{self.rate}")[1] == "OK":
                    self.format = kind
                    log.info("line %s: voice format %s (AT+VSM=%d,%d)", self.line_id, kind, cml, self.rate)
                    return
        raise VoiceModemError(f"line {self.line_id}: the modem offers none of {', '.join(self._prefer)} "
                              f"at {self.rate} Hz (AT+VSM=?)")

    def play(self, prompt: str, sound: Sound, loop: bool = False) -> None:
        with self._wake:
            self._generation += 1
            self._job = (prompt, sound, loop)
            self._wake.notify_all()

    def stop(self) -> None:
        with self._wake:
            if self._job is not None:
                self._generation += 1
                self._job = None
                self._wake.notify_all()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._generation += 1
            self._wake.notify_all()
        self._thread.join(timeout=5)

    @property
    def playing(self) -> bool:
        return self._job is not None

    # --- the capture source AlsaRecorder opens: AlsaRecorder(open_pcm=audio.open_capture) ---

    def open_capture(self, device: str, rate: int, period_frames: int) -> _Capture:
        if rate != self.rate:
            raise ValueError(f"line {self.line_id}: recorder rate {rate} Hz, the voice modem runs at {self.rate}")
        return _Capture(self, period_frames)

    # --- the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._job is None and self._receivers == 0 and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                job, generation = self._job, self._generation
            try:
                self.open()
                with self._borrow() as port:
                    session = _Session(port, self.line_id, self._timeout)
                    if job is not None:
                        finished = self._transmit(session, pcm_of(job[1], self.line_id), job[2], generation)
                    else:
                        finished = False
                        self._receive(session, generation)
            except Exception:  # a modem that vanished must not kill the line
                log.exception("line %s: voice audio failed", self.line_id)
                finished = False
                with self._wake:  # give up what was asked rather than retry it in a loop
                    if self._generation == generation:
                        self._job, self._receivers = None, 0
            with self._wake:
                if job is not None and self._generation == generation:
                    self._job = None
            if finished:
                self._post(PromptFinished(self.line_id, job[0]))

    def _changed(self, generation: int) -> bool:
        return self._generation != generation or self._closed

    def _transmit(self, session: _Session, pcm: bytes, loop: bool, generation: int) -> bool:
        session.start("AT+VTX")
        period_bytes = self.period_frames * 2
        period_seconds = self.period_frames / self.rate
        started, sent = self._clock(), 0
        while True:
            for offset in range(0, len(pcm), period_bytes):
                chunk = pcm[offset:offset + period_bytes].ljust(period_bytes, b"\x00")
                due = started + (sent - LEAD_PERIODS) * period_seconds
                with self._wake:
                    while not self._changed(generation) and self._clock() < due:
                        self._wake.wait(due - self._clock())
                    if self._changed(generation):
                        session.finish(ABORT_TRANSMIT, self._codes)
                        return False
                session.write(shield(to_modem(chunk, self.format or "s16")))
                self.frames_sent += self.period_frames
                sent += 1
                self._codes(session.poll())
                if self._clock() - (started + sent * period_seconds) > period_seconds:
                    started = self._clock() - sent * period_seconds  # resynchronise rather than rush
            if not loop or not pcm:
                session.finish(END_TRANSMIT, self._codes)
                return True

    def _receive(self, session: _Session, generation: int) -> None:
        session.start("AT+VRX")
        stream = DleReader()
        fmt = self.format or "s16"
        width = BYTES_PER_SAMPLE[fmt]
        odd = b""
        while True:
            with self._wake:
                stop = self._changed(generation) or self._job is not None or self._receivers == 0
            if stop:
                session.finish(END_RECEIVE, self._codes, stream)
                return
            data = session.read()
            samples, codes, end = stream.feed(data)
            self._codes(codes)
            samples = odd + samples
            odd = samples[len(samples) - len(samples) % width:]
            with self._wake:
                self._heard += from_modem(samples[:len(samples) - len(odd)], fmt)
                self._wake.notify_all()
            if end is not None:  # the modem ended the stream itself: the line dropped
                session.unread(data[end:])
                session.result(None, ("OK", "ERROR", "NO CARRIER"))
                with self._wake:
                    self._receivers = 0
                self._post(RemoteHangup(self.line_id, "voice modem ended the call"))
                return

    def _codes(self, codes: list[str]) -> None:
        for code in codes:
            if self._on_code is not None:
                self._on_code(code)
            elif code in DTMF_DIGITS:
                self._post(DtmfReceived(self.line_id, code))
            elif code in HANGUP_CODES:  # busy, dial tone, silence, quiet: nobody is on the line any more
                self._post(RemoteHangup(self.line_id, HANGUP_CODES[code]))
            else:  # R ring, r ringback, / and ~ around a held key, ...
                log.debug("line %s: voice modem reports <DLE>%s", self.line_id, code)


class _Capture:
    """What AlsaRecorder reads: periods of line PCM received from the modem; opening it starts AT+VRX."""

    def __init__(self, audio: SerialAudio, period_frames: int) -> None:
        self._audio = audio
        self._bytes = period_frames * 2
        self._open = False  # AT+VRX starts at the first read: AlsaRecorder.open() at boot must not start it

    def read(self) -> tuple[int, bytes]:
        """One period, blocking until the modem has sent it; (0, b"") after a while with none (a prompt plays)."""
        audio = self._audio
        with audio._wake:
            if not self._open:
                self._open = True
                audio._receivers += 1
                audio._heard.clear()
                audio._wake.notify_all()
            audio._wake.wait_for(lambda: len(audio._heard) >= self._bytes or audio._closed, 4 * READ_SLICE)
            if len(audio._heard) < self._bytes:
                return 0, b""
            data = bytes(audio._heard[:self._bytes])
            del audio._heard[:self._bytes]
        return self._bytes // 2, data

    def close(self) -> None:
        if self._open:
            self._open = False
            with self._audio._wake:
                self._audio._receivers = max(0, self._audio._receivers - 1)
                self._audio._wake.notify_all()


class _Session:
    """AT text and voice data on a borrowed port, for one AT+VTX or AT+VRX (or the AT+VSM set-up)."""

    def __init__(self, port: Any, line_id: str, timeout: float) -> None:
        self.port = port
        self.line_id = line_id
        self.timeout = timeout
        self._rx = bytearray()  # bytes read but not yet handled
        self._events = DleReader()  # what the modem sends while we transmit: codes, then result text
        port.timeout = READ_SLICE

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def read(self) -> bytes:
        """What arrived (blocks up to READ_SLICE); bytes read past the CONNECT line come first."""
        if self._rx:
            data, self._rx = bytes(self._rx), bytearray()
            return data
        return self.port.read(max(1, self.port.in_waiting))

    def unread(self, data: bytes) -> None:
        self._rx[:0] = data

    def poll(self) -> list[str]:
        """Codes the modem sent while we transmit, without waiting; any text is kept for the final result."""
        waiting = self.port.in_waiting
        if not waiting:
            return []
        text, codes, _ = self._events.feed(self.port.read(waiting))
        self._rx += text
        return codes

    def command(self, text: str, finals: tuple[str, ...] = ("OK", "ERROR")) -> tuple[list[str], str]:
        self.port.write(text.encode() + b"\r")
        return self.result(text, finals)

    def start(self, text: str) -> None:
        final = self.command(text, ("CONNECT", "OK", "ERROR", "NO CARRIER"))[1]
        if final != "CONNECT":
            raise VoiceModemError(f"line {self.line_id}: {text} answered {final}")
        if self._rx[:1] == b"\n":  # the LF of CONNECT's CRLF, not a sample
            del self._rx[:1]

    def finish(self, tail: bytes, on_codes: Callable[[list[str]], None], stream: DleReader | None = None) -> None:
        """End the data stream with `tail` and wait for the modem's OK; codes on the way are still reported."""
        self.port.write(tail)
        deadline = time.monotonic() + self.timeout
        while stream is not None:  # receiving: samples go on until the modem's <DLE><ETX>
            data = self.read()
            _, codes, end = stream.feed(data)
            on_codes(codes)
            if end is not None:
                self.unread(data[end:])
                break
            if time.monotonic() > deadline:
                raise VoiceModemError(f"line {self.line_id}: no <DLE><ETX> after stopping AT+VRX")
        if stream is None:
            on_codes(self.poll())
        self.result(None, ("OK", "ERROR", "NO CARRIER"))

    def result(self, echo: str | None, finals: tuple[str, ...]) -> tuple[list[str], str]:
        """Lines up to the final result code; what follows CONNECT stays unread, as voice data."""
        deadline = time.monotonic() + self.timeout
        lines: list[str] = []
        while True:
            while (cut := next((i for i, b in enumerate(self._rx) if b in (0x0D, 0x0A)), -1)) >= 0:
                raw, self._rx = bytes(self._rx[:cut]), self._rx[cut + 1:]
                line = raw.decode("ascii", "replace").strip()
                if not line or line == echo:
                    continue
                if line in finals or line.startswith("+CME ERROR"):
                    return lines, line
                lines.append(line)
            if time.monotonic() > deadline:
                raise VoiceModemError(f"line {self.line_id}: no answer to {echo or 'the end of voice data'} "
                                      f"within {self.timeout:g} s")
            self._rx += self.port.read(max(1, self.port.in_waiting))
