"""Prompts and caller audio over a V.253 voice modem's serial port (AT+VTX / AT+VRX with <DLE> framing).

The same prompt API as AlsaPlayer, and a capture source AlsaRecorder reads through its `open_pcm`.
A voice modem is half duplex: one worker thread per line either transmits the prompt asked for, or
receives while a recording is open, or leaves the port alone. The port is borrowed from the line for
each session (`borrow()` is a context manager lending the pyserial port exclusively), because while
the modem streams audio every byte is sound, not AT text. Samples are converted between the line's
16-bit 8 kHz PCM and the modem's format with the array module and byte tables, never audioop.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from array import array
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ..core.events import DtmfReceived, PromptFinished, RemoteHangup
from ..modem.dialects.base import DTMF_DIGITS
from ..modem.dialects.v253 import TONES
from .player import LEAD_PERIODS

log = logging.getLogger(__name__)

DLE, ETX, CAN, SUB = 0x10, 0x03, 0x18, 0x1A
END_TRANSMIT = bytes((DLE, ETX))
ABORT_TRANSMIT = bytes((DLE, CAN, DLE, ETX))  # drop what the modem still buffers, then end: barge-in
END_RECEIVE = b"\x10!"
READ_SLICE = 0.05  # longest a blocking port read lasts, so a stop is seen within a few periods


class VoiceModemError(Exception):
    """The voice modem refused or did not answer; the message names the line and the command."""


# --- sample formats: the line's S16LE <-> what the modem carries ------------------------------

# Samples are rounded, not truncated, to the 14 (u-law), 13 (A-law) or 8 bits coded, as sox does.

def _ulaw(sample: int) -> int:
    value = min((sample + 2) >> 2, 8191)
    value, mask = (value, 0xFF) if value >= 0 else (-value, 0x7F)
    value = min(value, 8159) + 0x21
    seg = max(0, value.bit_length() - 6)
    return 0x7F ^ mask if seg >= 8 else ((seg << 4) | ((value >> (seg + 1)) & 0xF)) ^ mask


def _ulaw_to_linear(code: int) -> int:
    code = ~code & 0xFF
    t = (((code & 0xF) << 3) + 0x84) << ((code & 0x70) >> 4)
    return 0x84 - t if code & 0x80 else t - 0x84


def _alaw(sample: int) -> int:
    value = min((sample + 4) >> 3, 4095)
    value, mask = (value, 0xD5) if value >= 0 else (-value - 1, 0x55)
    seg = max(0, value.bit_length() - 5)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((value >> (1 if seg < 2 else seg)) & 0xF)) ^ mask


def _alaw_to_linear(code: int) -> int:
    code ^= 0x55
    t, seg = (code & 0xF) << 4, (code & 0x70) >> 4
    t = t + 8 if seg == 0 else (t + 0x108) << max(0, seg - 1)
    return t if code & 0x80 else -t


def _u8(sample: int) -> int:
    return min((sample + 128) >> 8, 127) + 128


def _u8_to_linear(code: int) -> int:
    return (code - 128) << 8


_CODECS = {"ulaw": (_ulaw, _ulaw_to_linear), "alaw": (_alaw, _alaw_to_linear), "u8": (_u8, _u8_to_linear)}
_tables: dict[str, tuple[bytes, array]] = {}


def _table(kind: str) -> tuple[bytes, array]:
    """(encode table indexed by the sample as unsigned 16-bit, decode table); built once, on first use."""
    if kind not in _tables:
        encode, decode = _CODECS[kind]
        _tables[kind] = (bytes(encode(s - 65536 if s >= 32768 else s) for s in range(65536)),
                         array("h", map(decode, range(256))))
    return _tables[kind]


def _samples(pcm: bytes, typecode: str) -> array:
    out = array(typecode, pcm[:len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        out.byteswap()
    return out


def to_modem(pcm: bytes, fmt: str) -> bytes:
    """Line PCM (S16LE) in the modem's sample format."""
    if fmt == "s16":
        return bytes(pcm)
    return bytes(map(_table(fmt)[0].__getitem__, _samples(pcm, "H")))


def from_modem(data: bytes, fmt: str) -> bytes:
    """The modem's samples as line PCM (S16LE)."""
    if fmt == "s16":
        return bytes(data)
    samples = array("h", map(_table(fmt)[1].__getitem__, data))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


BYTES_PER_SAMPLE = {"s16": 2, "ulaw": 1, "alaw": 1, "u8": 1}


def pick_format(lines: list[str], rate: int, prefer: tuple[str, ...]) -> list[tuple[str, int]]:
    """(format, compression id) the modem lists in its AT+VSM=? answer, best first."""
    found: dict[str, int] = {}
    for line in lines:
        m = re.match(r'(?:\+VSM:\s*)?(\d+)\s*,\s*"([^"]*)"(.*)', line.strip())
        if not m:
            continue
        cml, name, rest = int(m[1]), m[2].upper().replace(" ", ""), m[3]
        rates = [int(r) for r in re.findall(r"\d{4,5}", rest)]
        if rates and rate not in rates and not (len(rates) == 2 and "-" in rest and rates[0] <= rate <= rates[1]):
            continue
        if "ULAW" in name or "U-LAW" in name or "G.711U" in name or "G711U" in name:
            kind = "ulaw"
        elif "ALAW" in name or "A-LAW" in name or "G.711A" in name or "G711A" in name:
            kind = "alaw"
        elif "16" in name and ("LINEAR" in name or "PCM" in name):
            kind = "s16"
        elif ("8-BIT" in name and "LINEAR" in name) or name == "UNSIGNEDPCM":
            kind = "u8"
        else:
            continue
        found.setdefault(kind, cml)
    return [(kind, found[kind]) for kind in prefer if kind in found]


class DleReader:
    """Splits what the modem sends in voice mode into samples, shielded codes and the stream's end."""

    def __init__(self) -> None:
        self._dle = False

    def feed(self, data: bytes) -> tuple[bytes, list[str], int | None]:
        """(sample bytes, codes, index just past <DLE><ETX> or None while the stream goes on)."""
        if not self._dle and DLE not in data:
            return bytes(data), [], None
        out, codes = bytearray(), []
        for i, b in enumerate(data):
            if not self._dle:
                if b == DLE:
                    self._dle = True
                else:
                    out.append(b)
                continue
            self._dle = False
            if b == DLE:
                out.append(DLE)
            elif b == SUB:
                out += b"\x10\x10"
            elif b == ETX:
                return bytes(out), codes, i + 1
            else:
                codes.append(chr(b))
        return bytes(out), codes, None


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
    ) -> None:
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
        self._wake = threading.Condition()
        self._job: tuple[str, bytes, bool] | None = None
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

    def play(self, prompt: str, pcm: bytes, loop: bool = False) -> None:
        with self._wake:
            self._generation += 1
            self._job = (prompt, pcm, loop)
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
                        finished = self._transmit(session, job[1], job[2], generation)
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
                session.write(to_modem(chunk, self.format or "s16").replace(b"\x10", b"\x10\x10"))
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
            if code in DTMF_DIGITS:
                self._post(DtmfReceived(self.line_id, code))
            elif code in TONES:
                self._post(RemoteHangup(self.line_id, TONES[code]))
            else:  # s silence, q quiet, R ring, ...: the recorder measures silence itself
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
