"""The emulated V.253 modem's voice side, as a Conexant voice modem speaks it (the class vgetty drives).

* `AT+VSM=?` lists the sample formats, `AT+VSM=<cml>,8000` selects one (ADPCM is listed but refused).
* `AT+VTX` -> CONNECT, then the host's <DLE>-shielded samples until <DLE><ETX> (after <DLE><CAN> when the
  host cuts the prompt short) -> OK. Each one is kept as a `Transmission`, un-shielded and converted back
  to line audio, so tests compare it with the prompt that was played.
* `AT+VRX` -> CONNECT, then the caller's voice (`caller_says`, silence once that is used up) paced at
  8000 samples a second, shielded, until the host sends <DLE>! or <DLE><CAN>; then <DLE><ETX> and OK.
  Keys (<DLE>5) and the exchange's busy tone (<DLE>b) are sent between the periods by the script.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from appliance.audio.voice_format import END_TRANSMIT, DleReader, from_modem, shield, to_modem

CONEXANT_FORMATS = ('128,"8-BIT LINEAR",(7200,8000,11025)', '129,"16-BIT LINEAR",(7200,8000,11025)',
                    '130,"8-BIT ALAW",(8000)', '131,"8-BIT ULAW",(8000)', '132,"IMA ADPCM",(7200,8000,11025)')
KINDS = {"128": "u8", "129": "s16", "130": "alaw", "131": "ulaw"}
RATE = 8000
PERIOD_FRAMES = 160
CANCEL = chr(0x18)


@dataclass(frozen=True)
class Transmission:
    """One AT+VTX as the modem received it."""

    data: bytes  # samples in the modem's format, <DLE> shielding undone
    pcm: bytes  # the same samples as line audio (S16LE)
    fmt: str
    cancelled: bool  # the host sent <DLE><CAN>: it cut the prompt short (barge-in)


class Voice:
    def __init__(self, send: Callable[..., None]) -> None:
        self._send = send
        self.formats: list[str] = list(CONEXANT_FORMATS)  # what AT+VSM=? lists; tests narrow it
        self.format = "u8"  # until AT+VSM selects one: 8-bit linear, the first listed
        self._cml = "128"
        self.mode: str | None = None  # "tx" during AT+VTX, "rx" during AT+VRX, None in command mode
        self.transmissions: list[Transmission] = []
        self.receptions: list[str] = []  # how each finished AT+VRX was stopped: "!" or "cancel"
        self._cond = threading.Condition()
        self._reader = DleReader()
        self._got = bytearray()
        self._cancelled = False
        self._caller = bytearray()  # line audio still to be said by the caller
        self._stream_stop = threading.Event()
        self._stream: threading.Thread | None = None

    # --- what tests and the simulation use ------------------------------------------------

    def caller_says(self, pcm: bytes) -> None:
        """Line audio (S16LE, 8 kHz) the caller says during the next AT+VRX periods."""
        with self._cond:
            self._caller += pcm

    def wait(self, predicate: Callable[[Voice], bool], timeout: float) -> bool:
        """Block until predicate(self) holds (checked as each transmission or reception starts and ends)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def reset(self) -> None:
        """Unplugged or powered off: whatever voice session ran is gone."""
        self._stop_stream()
        self.mode = None

    # --- commands (the emulator's pty thread) ---------------------------------------------

    def command(self, cmd: str) -> tuple[str, ...] | None:
        """The reply to a voice command, or None when `cmd` is none."""
        if cmd == "AT+VSM=?":
            return (*self.formats, "OK")
        if cmd == "AT+VSM?":
            return (f"{self._cml},{RATE},0,0", "OK")
        if cmd.startswith("AT+VSM="):
            cml, _, rate = cmd[7:].partition(",")
            listed = any(f.startswith(cml + ",") for f in self.formats)
            if listed and cml in KINDS and rate.split(",")[0] in ("", str(RATE)):
                self.format, self._cml = KINDS[cml], cml
                return ("OK",)
            return ("ERROR",)
        if cmd == "AT+VTX":
            self._reader, self._got, self._cancelled = DleReader(), bytearray(), False
            self._enter("tx")
            return ("CONNECT",)
        if cmd == "AT+VRX":
            self._reader = DleReader()
            self._send("CONNECT")  # before the first sample
            self._enter("rx")
            self._stream_stop = threading.Event()
            self._stream = threading.Thread(target=self._speak, args=(self._stream_stop,), daemon=True,
                                            name="emulator-vrx")
            self._stream.start()
            return ()
        return None

    def feed(self, data: bytes) -> int:
        """Host bytes while in a voice mode; how many of them belong to it (the rest is AT text again)."""
        samples, codes, end = self._reader.feed(data)
        if self.mode == "tx":
            self._got += samples
            self._cancelled = self._cancelled or CANCEL in codes
            if end is None:
                return len(data)
            data_in = bytes(self._got)
            self._finish(lambda: self.transmissions.append(
                Transmission(data_in, from_modem(data_in, self.format), self.format, self._cancelled)))
            self._send("OK")
            return end
        stop = next((c for c in codes if c in ("!", CANCEL)), None)
        if stop is not None:
            self._stop_stream()
            self._send(raw=END_TRANSMIT)
            self._finish(lambda: self.receptions.append("!" if stop == "!" else "cancel"))
            self._send("OK")
        return len(data)

    def _enter(self, mode: str) -> None:
        # Notified, so a test waiting for the session to start sees it at once, not only when it ends.
        with self._cond:
            self.mode = mode
            self._cond.notify_all()

    def _finish(self, record: Callable[[], None]) -> None:
        with self._cond:
            self.mode = None
            record()
            self._cond.notify_all()

    def _stop_stream(self) -> None:
        self._stream_stop.set()
        if self._stream is not None and self._stream is not threading.current_thread():
            self._stream.join(2.0)
        self._stream = None

    def _speak(self, stop: threading.Event) -> None:
        """AT+VRX: one period of the caller's voice every 20 ms, paced like the modem's own clock."""
        size, seconds = PERIOD_FRAMES * 2, PERIOD_FRAMES / RATE
        due = time.monotonic()
        while not stop.is_set():
            with self._cond:
                chunk = bytes(self._caller[:size])
                del self._caller[:size]
            self._send(raw=shield(to_modem(chunk.ljust(size, b"\x00"), self.format)))
            due += seconds
            stop.wait(max(0.0, due - time.monotonic()))
