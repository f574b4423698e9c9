"""Voice modem sample formats and <DLE> framing: pure functions shared by SerialAudio and the emulator.

The line's audio is raw signed 16-bit little-endian mono (S16LE). A V.253 modem carries 16-bit linear,
G.711 u-law or A-law, or 8-bit unsigned linear; conversion uses the array module and byte tables,
never audioop (gone in Python 3.13).
"""

from __future__ import annotations

import re
import sys
from array import array

DLE, ETX, CAN, SUB = 0x10, 0x03, 0x18, 0x1A
END_TRANSMIT = bytes((DLE, ETX))
ABORT_TRANSMIT = bytes((DLE, CAN, DLE, ETX))  # drop what the modem still buffers, then end: barge-in
END_RECEIVE = b"\x10!"


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
    """Splits a <DLE>-framed voice stream into samples, shielded codes and the stream's end.

    The same framing runs both ways: the host reads the modem's samples and codes (digits, b, d...),
    and the emulated modem reads the host's samples and <DLE><CAN>, <DLE>! or <DLE><ETX>.
    """

    def __init__(self) -> None:
        self._dle = False  # the last byte fed was a lone <DLE>: the next one says what it shields

    def feed(self, data: bytes) -> tuple[bytes, list[str], int | None]:
        """(sample bytes, codes, index just past <DLE><ETX> or None while the stream goes on)."""
        if not self._dle and DLE not in data:
            return bytes(data), [], None
        out, codes = bytearray(), []
        i = 0
        while True:
            if self._dle:
                if i == len(data):
                    break
                self._dle = False
                code = data[i]
                i += 1
                if code == DLE:
                    out.append(DLE)
                elif code == SUB:
                    out += b"\x10\x10"
                elif code == ETX:
                    return bytes(out), codes, i
                else:
                    codes.append(chr(code))
            j = data.find(DLE, i)
            if j < 0:
                out += data[i:]
                break
            out += data[i:j]
            self._dle = True
            i = j + 1
        return bytes(out), codes, None


def shield(data: bytes) -> bytes:
    """Samples as they go on the wire: every <DLE> doubled."""
    return data.replace(b"\x10", b"\x10\x10")
