"""Music on hold: the music prompt looped forever, with an announcement spoken every so often.

The announcement is fetched from a callable at the moment it is due, so it can say the caller's
current place in the queue rather than the place they had when the hold began.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

_BYTES_PER_SAMPLE = 2


class HoldProgram:
    """Raw S16LE mono hold audio: `every_seconds` of music, then `announce()` if it has something to say.

    `every_seconds=math.inf` plays music alone.
    """

    def __init__(self, music: bytes, announce: Callable[[], bytes | None], every_seconds: float,
                 rate: int = 8000) -> None:
        if not music:
            raise ValueError("hold music is empty")
        if len(music) % _BYTES_PER_SAMPLE:
            raise ValueError(f"hold music is not 16-bit PCM (odd length {len(music)})")
        if not every_seconds > 0:
            raise ValueError(f"hold announcement interval must be positive, got {every_seconds!r}")
        if rate <= 0:
            raise ValueError(f"hold rate must be positive, got {rate!r}")
        self._music = memoryview(bytes(music))
        self._announce = announce
        self._interval = (None if math.isinf(every_seconds)
                          else max(1, round(every_seconds * rate)) * _BYTES_PER_SAMPLE)

    def chunks(self, period_bytes: int) -> Iterator[bytes]:
        """Endless chunks of exactly `period_bytes`, ready to write to the line one ALSA period at a time."""
        if period_bytes <= 0 or period_bytes % _BYTES_PER_SAMPLE:
            raise ValueError(f"hold period must be a positive, even number of bytes, got {period_bytes!r}")
        return self._cut(period_bytes)

    def _cut(self, period_bytes: int) -> Iterator[bytes]:
        # Only one period is ever copied at a time: a ten-minute music prompt is not duplicated per chunk.
        pending = bytearray()
        for segment in self._segments():
            while segment:
                take = period_bytes - len(pending)
                pending += segment[:take]
                segment = segment[take:]
                if len(pending) == period_bytes:
                    yield bytes(pending)
                    pending.clear()

    def _segments(self) -> Iterator[memoryview]:
        music = self._music
        position = 0
        if self._interval is None:
            while True:
                yield music
        while True:
            due = self._interval
            while due:
                take = min(due, len(music) - position)
                yield music[position:position + take]
                position = (position + take) % len(music)
                due -= take
            spoken = self._announce()
            if spoken:
                if len(spoken) % _BYTES_PER_SAMPLE:
                    raise ValueError(f"hold announcement is not 16-bit PCM (odd length {len(spoken)})")
                yield memoryview(spoken)
