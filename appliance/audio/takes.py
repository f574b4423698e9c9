"""A recording in progress (`Take`), and what becomes of it once it ends (`Finisher`).

The capture thread (recorder.py) writes a take's periods to its raw scratch file and decides when it ends; the
finisher trims what was kept, then compresses it to FLAC on a short-lived thread, so the line keeps listening
for keys meanwhile, and moves it into place. Everything here runs once per recording, never per period.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable
from typing import BinaryIO

from appliance.core.lean import lean

from ..core.events import RecordingFinished
from ..files import scratch_beside

log = logging.getLogger("appliance.audio.recorder")  # the name its lines had before takes.py was split off

SILENCE_TAIL_SECONDS = 0.3  # kept after the last sound, so the last word's decay is not cut off
KEY_TAIL_SECONDS = 0.25  # dropped before a '#' that ended the take: the tone sounded that long before it was heard


def encode_flac(raw: str, dst: str, rate: int) -> None:
    """Compress raw S16LE mono into FLAC at dst; CalledProcessError/OSError/TimeoutExpired when it cannot."""
    import subprocess  # at the end of a recording, on the flac thread

    seconds = os.path.getsize(raw) / 2 / rate
    subprocess.run(
        ["flac", "--silent", "--force", "--force-raw-format", "--endian=little", "--sign=signed",
         "--channels=1", "--bps=16", f"--sample-rate={rate}", "-o", dst, raw],
        capture_output=True, check=True, timeout=60 + seconds,  # ~100x real time even on a Pi Zero
    )


@lean
class Take:
    """One recording in progress: written by the capture thread only, ended by whoever sets `reason`."""

    path: str
    raw_path: str
    raw: BinaryIO
    max_frames: float
    silence_frames: float
    min_frames: float
    stop_on_key: bool
    frames: int = 0
    heard_until: int = 0  # frames up to the end of the last period that was not silence
    reason: str | None = None


class Finisher:
    """A line's ended takes: trimmed, compressed on a thread each, moved into place, and a RecordingFinished posted."""

    def __init__(self, line_id: str, rate: int, post: Callable[[object], None],
                 encode: Callable[[str, str, int], None]) -> None:
        self.line_id = line_id
        self.rate = rate
        self._post = post
        self._encode = encode
        self._encoders: list[threading.Thread] = []

    def finish(self, take: Take) -> None:
        try:
            take.raw.close()
        except OSError as exc:  # the last buffered samples found the disk full
            take.reason = f"failed: {exc.strerror or exc}"
        if take.reason and take.reason.startswith("failed"):
            os.unlink(take.raw_path)
            self._post(RecordingFinished(self.line_id, None, take.frames / self.rate, take.reason))
            return
        kept = take.frames
        if take.reason == "key":
            kept -= round(KEY_TAIL_SECONDS * self.rate)
        if math.isfinite(take.silence_frames):  # a voicemail; a call recording keeps its quiet end
            tail = round(SILENCE_TAIL_SECONDS * self.rate) if take.heard_until else 0  # all quiet: nothing said
            kept = min(kept, take.heard_until + tail)
        kept = max(0, min(kept, take.frames))
        seconds = kept / self.rate
        if kept < take.min_frames or kept == 0:
            os.unlink(take.raw_path)
            self._post(RecordingFinished(self.line_id, None, seconds, "too short"))
            return
        os.truncate(take.raw_path, kept * 2)
        encoder = threading.Thread(target=self._compress, args=(take, seconds),
                                   name=f"flac-{self.line_id}", daemon=True)
        self._encoders.append(encoder)
        encoder.start()

    def join(self) -> None:
        """Wait for the compressions still running (the line is closing)."""
        for encoder in list(self._encoders):
            encoder.join(timeout=60)

    def _compress(self, take: Take, seconds: float) -> None:
        import subprocess  # for its errors: encode_flac imported it

        fd, part = scratch_beside(take.path, ".part")
        os.close(fd)
        try:
            self._encode(take.raw_path, part, self.rate)
            with open(part, "rb") as done:
                os.fsync(done.fileno())  # the rename must not land before the data on the SD card
            os.replace(part, take.path)
            event = RecordingFinished(self.line_id, take.path, seconds, take.reason or "stopped")
        except (OSError, subprocess.SubprocessError) as exc:
            stderr = getattr(exc, "stderr", None)  # the encoder's own words, when it ran and failed
            why = stderr.decode(errors="replace").strip() if isinstance(stderr, bytes) and stderr else str(exc)
            log.error("line %s: compressing %s failed: %s", self.line_id, take.path, why)
            event = RecordingFinished(self.line_id, None, seconds, f"failed: {why[:200]}")
            if os.path.exists(part):
                os.unlink(part)
        finally:
            os.unlink(take.raw_path)
            self._encoders.remove(threading.current_thread())
        self._post(event)
