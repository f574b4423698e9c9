"""Framing: what a modem sends, as bytes, split into report lines, the SMS prompt and <DLE> codes.

The AT engine (at.py) matches these lines to commands; this part only knows bytes. Nothing here may
raise on what a modem sends: unreadable bytes and over-long lines are logged and dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from appliance.core.lean import lean

log = logging.getLogger(__name__)

DLE = 0x10
_LINE_ENDS = re.compile(rb"[\r\n]")
_UNREADABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f]")  # control characters but TAB: a glitching UART
PROMPT = "> "  # the SMS text prompt, which arrives without a line end


@lean(frozen=True)
class DleEvent:
    """A <DLE>-shielded code from a V.253 voice modem (DTMF digit or call-progress tone)."""

    code: str


def _printable(b: int) -> bool:
    return 0x20 < b < 0x7F


class LineSplitter:
    """Turns a byte stream into report lines, prompts and <DLE> codes.

    CR, LF, CRLF and CRCR all end a line; empty lines vanish. Lines with control characters or
    invalid UTF-8 are garbage (a glitching UART), and lines longer than `max_line` are dropped whole.
    """

    def __init__(self, name: str = "modem", max_line: int = 1024) -> None:
        self._name = name
        self._max = max_line
        self._buf = bytearray()
        self._overflow = False
        self._dle = False
        self._glued: str | None = None  # a <DLE>x that ended a read: x may be a report's first letter
        self.skipped = 0

    @property
    def at_line_start(self) -> bool:
        """Nothing of a line (or a <DLE> code) read yet: the next byte starts a new one."""
        return not self._buf and not self._dle and self._glued is None and not self._overflow

    def feed(self, data: bytes) -> list[str | DleEvent]:
        return list(self.tokens(data))

    def tokens(self, data: bytes) -> Iterator[str | DleEvent]:
        """`feed`, one token at a time: each is handed on before the rest of `data` is split, so the line
        answers a RING before it has read the +CLIP that came with it (the caller waits for that ATA)."""
        if self._dle or self._glued is not None or DLE in data:
            yield from self._feed_bytes(data)
            return
        # No <DLE> anywhere (every GSM modem's text): whole lines at a time, not a byte at a time.
        pieces = _LINE_ENDS.split(data)
        for piece in pieces[:-1]:
            self._add(piece)
            line = self._take_line()
            if line is not None:
                yield line
        self._add(pieces[-1])
        if self._buf in (b"> ", b">"):
            self._buf.clear()
            yield PROMPT

    def _add(self, piece: bytes) -> None:
        """`piece` (no line end in it) onto the line being read, as `_text` adds it byte by byte."""
        if piece and not self._overflow:
            self._buf.extend(piece)
            if len(self._buf) > self._max:
                log.warning("%s: line longer than %d bytes dropped", self._name, self._max)
                self.skipped += 1
                self._buf.clear()
                self._overflow = True

    def _feed_bytes(self, data: bytes) -> list[str | DleEvent]:
        out: list[str | DleEvent] = []
        glued, self._glued = self._glued, None
        if glued is not None and data[:1] and _printable(data[0]) and not self._buf:
            self._buf.extend(glued.encode())  # the last read ended on a stray <DLE>x: x began this report
        for i, b in enumerate(data):
            if self._dle:
                self._dle = False
                if not self._is_code(b, data[i + 1:i + 2]):
                    self._text(b, out)  # a stray DLE (line noise, a GSM modem): never let it eat a report
                    continue
                out.append(DleEvent(chr(b)))
                if i + 1 == len(data) and chr(b).isalpha():
                    self._glued = chr(b)
            elif b == DLE:
                self._dle = True
            else:
                self._text(b, out)
        if self._buf in (b"> ", b">"):
            self._buf.clear()
            out.append(PROMPT)
        return out

    def _is_code(self, b: int, following: bytes) -> bool:
        """A <DLE>-shielded code stands alone between report lines (V.253); a DLE before a line end, inside a
        line, or before text that runs on (`<DLE>RING`) is noise in front of a report."""
        if b in (0x0D, 0x0A) or self._buf:
            return False
        return not (_printable(b) and following and _printable(following[0]))

    def _text(self, b: int, out: list[str | DleEvent]) -> None:
        if b in (0x0D, 0x0A):
            self._end_line(out)
        elif not self._overflow:
            self._buf.append(b)
            if len(self._buf) > self._max:
                log.warning("%s: line longer than %d bytes dropped", self._name, self._max)
                self.skipped += 1
                self._buf.clear()
                self._overflow = True

    def _end_line(self, out: list[str | DleEvent]) -> None:
        line = self._take_line()
        if line is not None:
            out.append(line)

    def _take_line(self) -> str | None:
        """The line read so far, ended: its text, or None (empty, over-long or unreadable)."""
        raw = bytes(self._buf)
        self._buf.clear()
        if self._overflow:
            self._overflow = False
            return None
        if not raw:
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or _UNREADABLE.search(text):
            log.warning("%s: unreadable line skipped: %r", self._name, raw[:80])
            self.skipped += 1
            return None
        return text.strip() or None
