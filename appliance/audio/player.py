"""Prompts to the caller through an ALSA PCM, one small thread per line.

The event loop only hands over bytes and never waits for audio. A prompt is
written one period (20 ms at 8 kHz) at a time and paced to real time, so a
key press or a hang-up stops it within one period, and PCMs that do not pace
themselves (ALSA `null` and `file:` in tests and simulation) still play at
the speed a caller would hear.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..core.events import PromptFinished
from .relay import Relay

log = logging.getLogger(__name__)

LEAD_PERIODS = 3  # periods queued ahead of real time: enough to ride out a busy core, short enough to stop fast

# A prompt is the PCM file in the prompt cache, read when it starts playing: the daemon holds no prompt audio
# between calls (dozens of prompts in several languages would otherwise sit in RAM all day). Tones are bytes.
Sound = bytes | Path


def pcm_of(sound: Sound, line_id: str) -> bytes:
    """The sound's PCM; a cache file that cannot be read plays as silence (logged) so the call moves on."""
    if isinstance(sound, bytes):
        return sound
    try:
        return sound.read_bytes()
    except OSError as exc:
        log.error("line %s: prompt file %s cannot be read (%s): played as silence", line_id, sound.name,
                  exc.strerror or exc)
        return b""


def open_alsa(device: str, rate: int, period_frames: int) -> Any:
    import alsaaudio  # only the daemon needs it; `hotline check` and the web app never load ALSA

    return alsaaudio.PCM(
        alsaaudio.PCM_PLAYBACK, device=device, channels=1, rate=rate,
        format=alsaaudio.PCM_FORMAT_S16_LE, periodsize=period_frames, periods=LEAD_PERIODS + 1,
    )


class AlsaPlayer:
    def __init__(
        self,
        line_id: str,
        device: str,
        *,
        post: Callable[[object], None],
        rate: int = 8000,
        period_frames: int = 160,
        open_pcm: Callable[[str, int, int], Any] = open_alsa,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.line_id = line_id
        self.device = device
        self.rate = rate
        self.period_frames = period_frames
        self.frames_written = 0  # what reached the PCM: tests and status read it, since PCMs buffer
        self._post = post
        self._open_pcm = open_pcm
        self._clock = clock
        self._pcm: Any = None
        self._wake = threading.Condition()
        self._job: tuple[str, Sound | Relay, bool] | None = None
        self._taps: list[Callable[[bytes], bool]] = []  # live listeners: what goes to the line, period by period
        self._generation = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"audio-{line_id}", daemon=True)
        self._thread.start()

    def open(self) -> None:
        """Open the PCM now, so a missing sound card is reported at start, not at the first call."""
        if self._pcm is None:
            self._pcm = self._open_pcm(self.device, self.rate, self.period_frames)

    def play(self, prompt: str, sound: Sound, loop: bool = False) -> None:
        """Replace whatever is playing with this prompt."""
        with self._wake:
            self._generation += 1
            self._job = (prompt, sound, loop)
            self._wake.notify()

    def carry(self, relay: Relay, source: str) -> None:
        """Replace whatever is playing with the audio of line `source` as the relay brings it, until stopped."""
        with self._wake:
            self._generation += 1
            self._job = (f"line {source}", relay, False)
            self._wake.notify()

    def tap(self, sink: Callable[[bytes], bool]) -> None:
        """Hand every period written to the line to `sink` (on the player's thread) until it returns False."""
        with self._wake:
            self._taps.append(sink)

    def stop(self) -> None:
        with self._wake:
            self._generation += 1
            self._job = None
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._generation += 1
            self._wake.notify()
        self._thread.join(timeout=2)
        if self._pcm is not None:
            self._pcm.close()
            self._pcm = None

    @property
    def playing(self) -> bool:
        return self._job is not None

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._job is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                prompt, sound, loop = self._job
                generation = self._generation
            try:
                if isinstance(sound, Relay):
                    self._carry(sound, generation)
                    finished = False
                else:
                    finished = self._play(pcm_of(sound, self.line_id), loop, generation)
            except Exception:  # a sound card that vanished must not kill the line
                log.exception("line %s: playing %s on %s failed", self.line_id, prompt, self.device)
                finished = False
            with self._wake:
                if self._generation == generation:
                    self._job = None
            if finished:
                self._post(PromptFinished(self.line_id, prompt))

    def _play(self, pcm: bytes, loop: bool, generation: int) -> bool:
        self.open()
        pace = self._paced(generation)
        for chunk in _periods(pcm, loop, self.period_frames * 2):
            if not next(pace, False):
                return False
            self._write(chunk)
        return True

    def _carry(self, relay: Relay, generation: int) -> None:
        """Another line's audio, as it comes, until stopped (a bridge: audio/relay.py); the relay closes after."""
        try:
            self.open()
            for _ in self._paced(generation):
                self._write(relay.take(self.period_frames * 2))
        finally:
            relay.close()

    def _write(self, chunk: bytes) -> None:
        self._pcm.write(chunk)
        self.frames_written += self.period_frames
        if self._taps:
            with self._wake:
                self._taps = [sink for sink in self._taps if sink(chunk)]

    def _paced(self, generation: int) -> Iterator[bool]:
        """True once per period, when it is due to be written (LEAD_PERIODS ahead of real time); ends when the job
        is replaced or stopped, with what the card still holds discarded."""
        period_seconds = self.period_frames / self.rate
        started = self._clock()
        sent = 0
        while True:
            due = started + (sent - LEAD_PERIODS) * period_seconds
            with self._wake:
                # Waiting on the condition, not sleeping: stop() and play() wake us at once.
                while self._generation == generation and self._clock() < due:
                    self._wake.wait(due - self._clock())
                if self._generation != generation:
                    self._pcm.drop()  # barge-in: discard what the card still holds
                    return
            late = self._clock() - (started + sent * period_seconds)
            if late > period_seconds and sent > LEAD_PERIODS:
                log.warning("line %s: audio underrun (%.0f ms late)", self.line_id, late * 1000)
                started += late  # resynchronise rather than rush to catch up
            yield True
            sent += 1


def _periods(pcm: bytes, loop: bool, period_bytes: int) -> Iterator[bytes]:
    """The prompt in periods, the last padded with silence; over and over when looped."""
    while True:
        for offset in range(0, len(pcm), period_bytes):
            yield pcm[offset:offset + period_bytes].ljust(period_bytes, b"\x00")
        if not loop or not pcm:
            return
