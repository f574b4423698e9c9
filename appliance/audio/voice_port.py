"""A GSM modem's USB voice port: the call's audio as 8 kHz 16-bit linear PCM in 320-byte frames every 20 ms.

Huawei sticks (after `AT^DDSETEX=2`), SIMCom SIM7600/A76xx (after `AT+CPCMREG=1`) and Quectel EC2x (after
`AT+QPCMV=1,0`) carry a call's voice over a USB serial port of their own, next to the AT port. While the
call's audio is switched there, the modem sends a frame every 20 ms and takes one every 20 ms; before that
the port is silent and what the host writes is thrown away.

One reader thread per port reads it the whole time it is open (a blocking read, no polling), so the kernel's
buffer never fills, and keeps the last few frames for the recorder, like a sound card's capture ring. The
first frame after a quiet spell says the voice path is on: a prompt waits for it (`VoicePortPlayer`), so the
caller hears a greeting from its first syllable even when the modem switches late, or when the port is still
being reopened after the stick dropped off USB, and a modem that never sends is named in the log instead of
playing into the void.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import serial

from .player import AlsaPlayer

log = logging.getLogger(__name__)

FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit mono: what the modems send and expect per USB transfer
RING_PERIODS = 8  # recorder periods kept for a recorder that fell behind, as the ALSA capture ring does
QUIET_SECONDS = 0.2  # no frame for this long and the voice path counts as off (the call ended)
READING_SECONDS = 2.0  # a recorder that read within this long is reading: a full ring then is an overrun
LIVE_WAIT = 3.0  # how long a prompt waits for the modem to switch its voice path on before it plays anyway
RETRY_FIRST, RETRY_MAX = 0.5, 5.0  # reopening a voice port that dropped off USB, as the AT line does
# How much longer a prompt waits when its voice port is away (off USB, being reopened): the AT port and the
# voice port come back on their own backoffs, so the line may take a call seconds before its voice port is back.
REOPEN_WAIT = 10.0
VOICE_BAUD = 115200  # ignored by USB serial drivers; a real UART would need at least 128 kbit/s


class VoicePort:
    """The serial voice port of one line, shared by its player and its recorder (`playback()`, `capture()`)."""

    def __init__(self, line_id: str, path: str, *,
                 serial_factory: Callable[..., Any] = serial.serial_for_url,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.line_id = line_id
        self.path = path
        self.frames_heard = 0  # every frame the modem sent: status and tests read it
        self._factory = serial_factory
        self._clock = clock
        self._port: Any = None
        self._users = 0
        self._lock = threading.Lock()
        # Held while a frame is written and while the port is taken away, so no write meets a closed port;
        # always taken before _lock.
        self._write_lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._ring: deque[bytes] = deque(maxlen=RING_PERIODS)
        self._partial = b""
        self._overrun = False
        self._heard_at = -QUIET_SECONDS
        self._taken_at = -READING_SECONDS  # the recorder's last read: a full ring is an overrun only while it reads
        self._listeners: list[threading.Condition] = []
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()  # set while the port is being closed: a reconnect gives up
        self._wanted_until = 0.0  # a prompt waits for sound until then: a port away is tried every RETRY_FIRST
        self._retry_now = False

    # --- opening, shared by the player and the recorder ------------------------------------

    def _open(self) -> None:
        with self._lock:
            self._users += 1
            if self._port is not None or self._reader is not None:
                return
            try:
                self._port = self._connect()
            except Exception as exc:  # SerialException, OSError, ValueError from a bad URL
                self._users -= 1
                raise OSError(f"line {self.line_id}: voice port {self.path} cannot be opened: {exc}") from exc
            self._stop.clear()
            self._reader = threading.Thread(target=self._read, args=(self._port,), daemon=True,
                                            name=f"voice-port-{self.line_id}")
            self._reader.start()

    def _connect(self) -> Any:
        # exclusive: a second reader (a leftover daemon, ModemManager) would take part of every frame
        return self._factory(self.path, baudrate=VOICE_BAUD, timeout=None, write_timeout=1.0, exclusive=True)

    def _close(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._reader is None:
                return
            self._stop.set()
            self._cond.notify_all()  # a reconnect waiting out its backoff gives up now
            port, reader = self._port, self._reader
        if port is not None:
            port.cancel_read()
        reader.join(2.0)
        with self._write_lock, self._lock:
            port, self._port, self._reader = self._port, None, None
        if port is not None:
            port.close()

    def _reconnect(self) -> Any:
        """The stick dropped off USB (or the port failed): reopen the same name with backoff, as the AT line
        does, until it is back or the port is closed; None when closed. While a prompt waits (`want`) it is
        tried at once and then every RETRY_FIRST: a caller is on the line, listening to silence."""
        delay = RETRY_FIRST
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop.is_set() or self._retry_now, delay)
                if self._stop.is_set():
                    return None
                self._retry_now = False
            try:
                port = self._connect()
            except Exception as exc:  # still gone: try again later
                log.debug("line %s: voice port %s not back yet: %s", self.line_id, self.path, exc)
                with self._lock:
                    wanted = self._clock() < self._wanted_until
                delay = RETRY_FIRST if wanted else min(delay * 2, RETRY_MAX)
                continue
            with self._lock:
                if self._stop.is_set():
                    port.close()
                    return None
                self._port = port
            log.info("line %s: voice port %s is back", self.line_id, self.path)
            return port

    def playback(self, device: str, rate: int, period_frames: int) -> _Playback:
        """The player's PCM (AlsaPlayer's `open_pcm`): one frame per period."""
        self._check(rate, period_frames)
        if period_frames * 2 != FRAME_BYTES:
            raise ValueError(f"line {self.line_id}: a voice port takes 160-sample frames, not {period_frames}")
        self._open()
        return _Playback(self)

    def capture(self, device: str, rate: int, period_frames: int) -> _Capture:
        """The recorder's capture PCM (AlsaRecorder's `open_pcm`): periods of whole frames."""
        self._check(rate, period_frames)
        if (period_frames * 2) % FRAME_BYTES:
            raise ValueError(f"line {self.line_id}: a voice port captures whole 160-sample frames, "
                             f"not periods of {period_frames}")
        with self._lock:
            self._ring = deque(self._ring, maxlen=RING_PERIODS * period_frames * 2 // FRAME_BYTES)
        self._open()
        return _Capture(self, period_frames * 2 // FRAME_BYTES)

    def _check(self, rate: int, period_frames: int) -> None:
        if rate != 8000:
            raise ValueError(f"line {self.line_id}: a voice port carries 8000 Hz, not {rate}")

    # --- the voice path ----------------------------------------------------------------------

    @property
    def away(self) -> bool:
        """The port dropped off USB and is being reopened."""
        with self._lock:
            return self._port is None and self._reader is not None

    def want(self, seconds: float) -> None:
        """A prompt waits up to `seconds` for sound: a port that is away is tried now, not at its backoff's turn."""
        with self._cond:
            self._wanted_until = self._clock() + seconds
            if self._port is None and self._reader is not None:
                self._retry_now = True
                self._cond.notify_all()

    @property
    def live(self) -> bool:
        """The modem sent a frame within the last QUIET_SECONDS: the call's voice is on this port."""
        with self._lock:
            return self._clock() - self._heard_at < QUIET_SECONDS

    def wake_on_sound(self, cond: threading.Condition) -> None:
        """`cond` is notified when the port comes alive (a player waiting to start its prompt)."""
        self._listeners.append(cond)

    def _read(self, port: Any) -> None:
        while True:
            try:
                data = port.read(FRAME_BYTES)
            except Exception as exc:  # the stick was pulled out: reopen it once it is back
                log.error("line %s: voice port %s failed: %s", self.line_id, self.path, exc)
                with self._write_lock, self._lock:
                    self._port = None
                    self._heard_at = -QUIET_SECONDS  # the voice path went with it: a prompt now waits for it
                port.close()
                port = self._reconnect()
                if port is None:
                    return
                continue
            if not data:  # cancel_read(): the port is being closed
                return
            with self._lock:
                was_live = self._clock() - self._heard_at < QUIET_SECONDS
                if not was_live:
                    self._ring.clear()  # the end of the last call is no part of this one
                self._heard_at = self._clock()
                data = self._partial + data
                whole = len(data) - len(data) % FRAME_BYTES
                self._partial = data[whole:]
                for start in range(0, whole, FRAME_BYTES):
                    if len(self._ring) == self._ring.maxlen and self._clock() - self._taken_at < READING_SECONDS:
                        self._overrun = True  # a recorder reading fell behind (not one that is not reading)
                    self._ring.append(data[start:start + FRAME_BYTES])
                    self.frames_heard += 1
                self._cond.notify_all()
            if not was_live:
                log.info("line %s: voice port %s carries sound", self.line_id, self.path)
                for cond in self._listeners:
                    with cond:
                        cond.notify_all()

    def _take(self, frames: int) -> tuple[int, bytes]:
        """`frames` frames for the recorder as one period; (-1, b"") after an overrun; (0, b"") when they did
        not come within two periods (the voice path is off between calls)."""
        with self._cond:
            if self._clock() - self._taken_at >= READING_SECONDS:  # a recorder starts reading: from now on
                self._ring.clear()
                self._overrun = False
            self._taken_at = self._clock()
            self._cond.wait_for(lambda: len(self._ring) >= frames or self._overrun, 2 * frames * 0.02)
            if self._overrun:
                self._overrun = False
                return -1, b""
            if len(self._ring) < frames:
                return 0, b""
            period = b"".join(self._ring.popleft() for _ in range(frames))
        return frames * FRAME_BYTES // 2, period

    def _write(self, frame: bytes) -> None:
        with self._write_lock:
            port = self._port
            if port is None:
                return  # off USB: the frame is lost, as it would be on the wire
            try:
                port.write(frame)
            except (serial.SerialException, OSError) as exc:
                # The stick went as the frame was written; the reader sees the port fail too and reopens it.
                log.debug("line %s: voice port %s: a frame was lost: %s", self.line_id, self.path, exc)

    def _drop(self) -> None:
        with self._write_lock:
            port = self._port
            if port is not None:
                port.reset_output_buffer()


class _Playback:
    """What AlsaPlayer writes to: frames straight onto the port, paced by the player."""

    def __init__(self, voice: VoicePort) -> None:
        self.voice = voice

    def write(self, frame: bytes) -> None:
        self.voice._write(frame)

    def drop(self) -> None:
        self.voice._drop()  # barge-in: what the driver still holds is not sent

    def close(self) -> None:
        self.voice._close()


class _Capture:
    """What AlsaRecorder reads: the frames the modem sent, oldest first."""

    def __init__(self, voice: VoicePort, frames: int) -> None:
        self.voice = voice
        self.frames = frames

    def read(self) -> tuple[int, bytes]:
        return self.voice._take(self.frames)

    def close(self) -> None:
        self.voice._close()


class VoicePortPlayer(AlsaPlayer):
    """AlsaPlayer on a voice port: a prompt starts once the modem's voice path is on (or LIVE_WAIT passed).

    The switching command goes out when the network reports the call connected, a moment after the box
    decided to greet the caller; frames written before the modem switches are thrown away by it.
    """

    def __init__(self, line_id: str, voice: VoicePort, *, post: Callable[[object], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(line_id, voice.path, post=post, open_pcm=voice.playback, clock=clock)
        self.voice = voice
        self.silent_starts = 0  # prompts that played although the modem never switched its voice path on
        voice.wake_on_sound(self._wake)

    def _play(self, pcm: bytes, loop: bool, generation: int) -> bool:
        self.open()
        wait = LIVE_WAIT + (REOPEN_WAIT if self.voice.away else 0.0)
        if not self.voice.live:
            self.voice.want(wait)
        deadline = self._clock() + wait
        with self._wake:
            while self._generation == generation and not self.voice.live and self._clock() < deadline:
                self._wake.wait(deadline - self._clock())
            if self._generation != generation:
                return False
        if not self.voice.live:
            self.silent_starts += 1
            log.error("line %s: the modem sent no sound on its voice port %s within %.0f s of the prompt: "
                      "is audio_port the voice port, and did the modem accept the switching command?",
                      self.line_id, self.voice.path, wait)
        return super()._play(pcm, loop, generation)
