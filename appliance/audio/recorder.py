"""Caller audio in: voicemail and call recordings, and keys heard in the audio, one capture thread per line.

The thread reads one period (20 ms at 8 kHz) at a time. A real capture PCM blocks until a period is
there, which paces the thread; PCMs that do not pace (ALSA `null` and `file` in tests and simulation)
are paced to real time by a condition wait, so `stop()` and `key()` take effect within one period.
Every line reads on one shared tick (capture_tick.py), where one thread reads for the lines that only listen.
Audio goes to a raw scratch file next to the target, never into memory (a call recording can last an
hour on a 512 MB Pi); what becomes of a recording once it ends is takes.py's.
"""

from __future__ import annotations

import logging
import math
import operator
import os
import sys
import threading
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.events import DtmfReceived
from ..files import scratch_beside
from .capture_tick import Turn, nudge, shared_tick
from .takes import Finisher, Take, encode_flac

if TYPE_CHECKING:
    from .dtmf_engine import Listener

log = logging.getLogger(__name__)

SILENCE_DBFS = -40.0  # a period whose RMS is below this is silence: line hiss sits near -50, speech above -35
RETRY_SECONDS = 1.0  # wait before reopening a capture PCM that failed
CAPTURE_PERIODS = 8  # ALSA buffer in periods: rides out a busy core for 8 periods before it overruns
# A line's capture thread wakes once per period: 100 ms periods (not 20) make four listening lines cost a
# fifth of the wakeups, for keys heard at most a period later; the buffer then holds 800 ms.
LINE_PERIOD_FRAMES = 800
CAPTURE_RATE = 8000  # every line captures 16-bit mono at this rate (service/interrupted_audio.py reads them so)


def open_alsa_capture(device: str, rate: int, period_frames: int) -> Any:
    import alsaaudio  # only the daemon needs it; `hotline check` and the web app never load ALSA

    return alsaaudio.PCM(
        alsaaudio.PCM_CAPTURE, device=device, channels=1, rate=rate,
        format=alsaaudio.PCM_FORMAT_S16_LE, periodsize=period_frames, periods=CAPTURE_PERIODS,
    )


class AlsaRecorder:
    def __init__(
        self,
        line_id: str,
        device: str,
        *,
        post: Callable[[object], None],
        rate: int = CAPTURE_RATE,
        period_frames: int = 160,
        open_pcm: Callable[[str, int, int], Any] = open_alsa_capture,
        detect_dtmf: bool = False,
        silence_dbfs: float = SILENCE_DBFS,
        encode: Callable[[str, str, int], None] = encode_flac,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.line_id = line_id
        self.device = device
        self.rate = rate
        self.period_frames = period_frames
        self._tick = shared_tick(period_frames, rate)
        self.detect_dtmf = detect_dtmf
        self.frames_captured = 0  # every frame read from the PCM: tests and status read it
        self.overruns = 0
        self._post = post
        self._open_pcm = open_pcm
        self._finisher = Finisher(line_id, rate, post, encode)
        self._clock = clock
        self._silence_level = period_frames * (32768 * 10 ** (silence_dbfs / 20)) ** 2  # sum of squares
        self._pcm: Any = None
        # the shared receiver is made here, at start: numpy must not load on this thread at the first call
        self._keys: Listener | None = None
        if detect_dtmf:
            from .dtmf_engine import shared_engine  # a line whose modem reports keys loads no software receiver

            self._keys = shared_engine(rate).attach(self._heard_key)
        self._feeding = False  # this line's last period went to the receiver (its capture thread or the one reading
        # for it uses it, never both at once: Turn.reading)
        self._paced_from = 0.0
        self._paced_frames = 0
        self._wake = threading.Condition()
        # The wait for the next tick is on this lock, held while no one has anything to say: a condition's wait
        # runs ~20 lines of Python at every period (~40 µs after a sleep here, a sixth of four lines' CPU).
        self._nudge = threading.Lock()
        self._nudge.acquire()
        self._turn = Turn(self._nudge, self._serve)  # this line's place at the ticks, woken through the same lock
        self._take: Take | None = None
        self._listening = False
        self._taps: list[Callable[[bytes], bool]] = []  # live listeners (a supervisor's browser): period -> go on?
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"capture-{line_id}", daemon=True)
        self._thread.start()

    # --- the interface the daemon uses ---------------------------------------------------

    def open(self) -> None:
        """Open the capture PCM now, so a missing sound card is reported at start, not at the first call."""
        if self._pcm is None:
            self._pcm = self._open_pcm(self.device, self.rate, self.period_frames)
            self._paced_from, self._paced_frames = self._clock(), 0

    def listen(self) -> None:
        """Capture for the software DTMF receiver from now on (the call was answered); needs detect_dtmf."""
        with self._wake:
            self._listening = self.detect_dtmf
            self._notify()

    def stop_listening(self) -> None:
        """No key matters now (the call is over, or the caller talks to an operator): capture only to record."""
        with self._wake:
            self._listening = False
            self._notify()

    def tap(self, sink: Callable[[bytes], bool]) -> None:
        """Hand every captured period to `sink` (on the capture thread) until it returns False: a live listener."""
        with self._wake:
            self._taps.append(sink)
            self._notify()

    def start(self, path: str, *, max_seconds: float, silence_seconds: float, min_seconds: float,
              stop_on_key: bool = True) -> None:
        """Record the caller into `path` (FLAC); a recording already running ends as "stopped".

        A whole-call recording is `stop_on_key=False, silence_seconds=math.inf`; telling the caller that the
        call is recorded is the core's job, before it asks for this.
        """
        for name, value in (("max_seconds", max_seconds), ("silence_seconds", silence_seconds)):
            if not isinstance(value, int | float) or math.isnan(value) or value <= 0:
                raise ValueError(f"recording {name} must be a positive number of seconds, got {value!r}")
        if not isinstance(min_seconds, int | float) or not 0 <= min_seconds <= max_seconds:
            raise ValueError(f"recording min_seconds must be from 0 to max_seconds ({max_seconds!r}), "
                             f"got {min_seconds!r}")
        target = Path(path)
        if target.is_dir():
            raise ValueError(f"recording path {path} is a directory")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, raw_path = scratch_beside(target, ".raw")
        except OSError as exc:
            raise ValueError(f"recording path {path} cannot be written: {exc.strerror or exc}") from exc
        take = Take(str(target), raw_path, os.fdopen(fd, "wb"), max_seconds * self.rate,
                    silence_seconds * self.rate, min_seconds * self.rate, stop_on_key)
        with self._wake:
            if self._take is not None:
                self._take.reason = "stopped"
            elif not self._listening:  # nobody read while idle: pace from now, not from when the PCM opened
                self._paced_from, self._paced_frames = self._clock(), 0
            self._take = take
            self._notify()

    def key(self, digit: str) -> None:
        """A key the modem heard: '#' ends a recording started with stop_on_key."""
        with self._wake:
            self._end_on_key(digit)

    def stop(self) -> None:
        """The caller hung up (or the core gave up): the recording so far is kept if long enough."""
        with self._wake:
            if self._take is not None:
                self._take.reason = "stopped"
                self._take = None
                self._notify()

    def close(self) -> None:
        self.stop()
        with self._wake:
            self._closed = True
            self._notify()
        self._thread.join(timeout=5)
        self._finisher.join()
        self._release()

    @property
    def recording(self) -> bool:
        return self._take is not None

    # --- the capture thread --------------------------------------------------------------

    def _notify(self) -> None:
        """Wake the capture thread, in its idle wait (the condition, held by the caller) or its wait for the tick."""
        self._wake.notify()
        nudge(self._nudge)

    def _end_on_key(self, digit: str) -> None:
        if digit == "#" and self._take is not None and self._take.stop_on_key:
            self._take.reason = "key"
            self._take = None
            self._notify()

    def _run(self) -> None:
        current: Take | None = None
        while True:
            with self._wake:
                while (current is None and self._take is None and not self._listening and not self._taps
                       and not self._closed):
                    self._tick.release(self._turn)  # the lines read for at its last tick read by themselves
                    self._wake.wait()
                wanted = self._take
                busy = wanted is not None or ((self._listening or bool(self._taps)) and not self._closed)
            if current is not None and current is not wanted:
                self._finisher.finish(current)  # whoever replaced or ended it gave the reason
                current = None
            if not busy:
                self._tick.release(self._turn)
                self._pause_keys()
                self._release()
                if self._closed:
                    return
                continue
            current = wanted
            period = self._read(current)
            if period is None:
                continue
            # keys matter while the flow listens, or when '#' can end this recording (not a call recording)
            if self._keys is not None and (self._listening or (current is not None and current.stop_on_key)):
                self._keys.feed(period)
                self._feeding = True
            else:
                self._pause_keys()
            if current is not None:
                self._keep(current, period)
            if self._taps:
                with self._wake:
                    self._taps = [sink for sink in self._taps if sink(period)]

    def _pause_keys(self) -> None:
        """This line stopped feeding the shared receiver: it decides what the line queued, waits for it no more."""
        if self._feeding and self._keys is not None:
            self._feeding = False
            self._keys.pause()

    def _read(self, take: Take | None) -> bytes | None:
        """One period, paced to real time; None when nothing was read (overrun, failure, work changed)."""
        try:
            self.open()
            turn = self._turn
            self._tick.queue(turn, self._tick.next_at(self._paced_from + self._paced_frames / self.rate))
            # Not a sleep: stop(), key() and close() cut it short (they change what is read here, then nudge),
            # and so does the line that woke at the tick, when it cannot read for this one (wake_at changed).
            while self._take is take and not self._closed:
                wait = turn.wake_at - self._clock()
                if wait <= 0:
                    break
                self._nudge.acquire(True, min(wait, threading.TIMEOUT_MAX))  # inf: the head reads for this line
            self._tick.start(turn, self._clock())
            if self._take is not take or self._closed:
                self._tick.release(turn)
                return None
            if not self._ready():  # the read may wait for the card, or stall: the lines read for go on by themselves
                self._tick.release(turn)
            asked = self._clock()
            frames, data = self._pcm.read()
            ended = self._clock()
        except Exception as exc:  # a sound card that vanished must not kill the line
            log.error("line %s: capture from %s failed: %s", self.line_id, self.device, exc)
            self._tick.release(self._turn)
            self._pause_keys()
            self._release()
            with self._wake:
                if self._take is not None:
                    self._take.reason = "stopped"
                    self._take = None
                self._wake.wait(RETRY_SECONDS)  # close() and start() still wake it at once
            return None
        period = self._counted(frames, data)
        if period is not None and self._tick.read(asked, ended):  # the card's period ended just now: pace from it
            self._paced_from = ended + self._tick.period - self._paced_frames / self.rate  # next read: a period on
        return period

    def _counted(self, frames: int, data: bytes) -> bytes | None:
        """What a read of the card returned, counted: the period, or None (nothing yet, or an overrun)."""
        if frames == 0:  # a source that had nothing yet (serial audio while the modem transmits)
            return None
        if frames < 0:  # -EPIPE: the core was busy too long and the card overwrote audio
            self.overruns += 1
            log.warning("line %s: capture overrun", self.line_id)
            self._paced_from, self._paced_frames = self._clock(), 0
            return None
        self._paced_frames += frames
        self.frames_captured += frames
        return bytes(data[:frames * 2])

    def _ready(self) -> bool:
        """The card holds a whole period, so reading it cannot wait (an ALSA PCM says; others may wait)."""
        avail = getattr(self._pcm, "avail", None)
        try:
            return avail is not None and avail() >= self.period_frames
        except Exception:  # noqa: BLE001 - a vanished card: the line's own read meets it and reports it
            return False

    def _serve(self) -> bool:
        """Read this line's period and hand it to the receiver on the thread of the line that woke at the tick
        (this line's thread sleeps on), if the line only listens for keys and its card holds the period already;
        else False (this line's thread is woken to read it). `Turn.reading` keeps the two threads apart."""
        if (self._take is not None or self._taps or not self._listening or self._closed or self._keys is None
                or not self._ready()):
            return False
        try:
            period = self._counted(*self._pcm.read())
        except Exception:  # noqa: BLE001 - the line's own thread reads again, meets it and reports it
            return False
        if period is None:  # an overrun (counted): the line's own thread reads on
            return False
        self._keys.feed(period)
        self._feeding = True
        return True

    def _heard_key(self, digit: str) -> None:
        """A key the shared receiver confirmed (on the capture thread, this line's or another's, that decided it)."""
        self._post(DtmfReceived(self.line_id, digit))
        with self._wake:
            self._end_on_key(digit)

    def _keep(self, take: Take, period: bytes) -> None:
        try:
            take.raw.write(period)
        except OSError as exc:  # a full disk: the message cannot be kept, but the caller must be let go on
            log.error("line %s: recording %s cannot be written: %s", self.line_id, take.path, exc)
            with self._wake:
                if self._take is take:
                    take.reason = f"failed: {exc.strerror or exc}"
                    self._take = None
            return
        samples = array("h", period)
        if sys.byteorder == "big":
            samples.byteswap()
        take.frames += len(samples)
        if sum(map(operator.mul, samples, samples)) >= self._silence_level * len(samples) / self.period_frames:
            take.heard_until = take.frames
        if take.frames >= take.max_frames:
            reason = "max length"
        elif take.frames - take.heard_until >= take.silence_frames:
            reason = "silence"
        else:
            return
        with self._wake:
            if self._take is take:
                take.reason = reason
                self._take = None

    def _release(self) -> None:
        if self._pcm is not None:
            try:
                self._pcm.close()
            except Exception:  # noqa: BLE001 - a vanished card may refuse even this
                log.debug("line %s: closing %s failed", self.line_id, self.device, exc_info=True)
            self._pcm = None
