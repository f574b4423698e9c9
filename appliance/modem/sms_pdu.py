"""SMS in PDU mode (3GPP TS 23.040): splitting a text into parts, SMS-SUBMIT out, SMS-DELIVER in. Pure.

Text mode cannot carry the user data header that joins the parts of a long message, so every
message over one part (160 GSM-7 / 70 UCS-2 characters) goes out as concatenated PDUs with an
8-bit reference: IEI 00, length 3, reference, total, sequence; 153 septets / 67 UCS-2 units a part.
"""

from __future__ import annotations

import time

from appliance.core.lean import lean
from appliance.modem import gsm7

SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}
VALIDITY_24H = 167  # relative validity: (167 - 143) * 30 min + 12 h = 24 h


@lean(frozen=True)
class Pdu:
    """One message in PDU form: `hex` for the modem and `length`, the octets AT+CMGS=<length> counts."""

    hex: str
    length: int


@lean(frozen=True)
class Message:
    """A decoded SMS-DELIVER or SMS-SUBMIT; `part` is (reference, total, sequence) for a concatenated one."""

    number: str | None
    text: str
    sent_at: float | None  # the service centre's time stamp (UTC seconds); None in an SMS-SUBMIT
    part: tuple[int, int, int] | None = None


def encoding_for(text: str) -> str:
    return "gsm7" if gsm7.fits(text) else "ucs2"


def split(text: str) -> tuple[str, list[str]]:
    """(encoding, parts): one part when it fits, else 153-septet / 67-unit parts that never cut an
    escape sequence or a surrogate pair in half."""
    encoding = encoding_for(text)
    if _units(text, encoding) <= SINGLE[encoding]:
        return encoding, [text]
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        size = _units(ch, encoding)
        if used + size > PART[encoding]:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += size
    parts.append("".join(current))
    return encoding, parts


def _units(text: str, encoding: str) -> int:
    if encoding == "gsm7":
        return len(gsm7.to_septets(text) or ())
    return len(text.encode("utf-16-be")) // 2


def submit_pdus(number: str, text: str, reference: int) -> list[Pdu]:
    """The SMS-SUBMIT PDUs for `text` to `number` (with an empty SMSC field: the SIM's centre is used)."""
    encoding, parts = split(text)
    total = len(parts)
    if total > 255:
        raise ValueError(f"the text is too long for one SMS ({total} parts; at most 255)")
    out = []
    for seq, part in enumerate(parts, 1):
        udh = bytes([0, 3, reference & 0xFF, total, seq]) if total > 1 else b""
        first = 0x11 | (0x40 if udh else 0)  # SMS-SUBMIT, relative validity, UDHI when there is a header
        tpdu = bytes([first, 0]) + encode_address(number) + bytes([0, 0 if encoding == "gsm7" else 8,
                                                                    VALIDITY_24H]) + _user_data(part, encoding, udh)
        out.append(Pdu("00" + tpdu.hex().upper(), len(tpdu)))
    return out


def deliver_pdus(sender: str, text: str, reference: int, sent_at: float) -> list[Pdu]:
    """SMS-DELIVER PDUs as a modem stores them (used by the emulator, and to test the decoder)."""
    encoding, parts = split(text)
    stamp = _encode_time(sent_at)
    out = []
    for seq, part in enumerate(parts, 1):
        udh = bytes([0, 3, reference & 0xFF, len(parts), seq]) if len(parts) > 1 else b""
        tpdu = (bytes([0x04 | (0x40 if udh else 0)]) + encode_address(sender)
                + bytes([0, 0 if encoding == "gsm7" else 8]) + stamp + _user_data(part, encoding, udh))
        smsc = bytes([7, 0x91]) + _semi_octets("79168999100")
        out.append(Pdu(smsc.hex().upper() + tpdu.hex().upper(), len(tpdu)))
    return out


def _user_data(text: str, encoding: str, udh: bytes) -> bytes:
    header = bytes([len(udh)]) + udh if udh else b""
    if encoding == "gsm7":
        septets = gsm7.to_septets(text) or []
        skip = (len(header) * 8 + 6) // 7
        return bytes([skip + len(septets)]) + gsm7.pack(septets, prefix=header)
    body = header + text.encode("utf-16-be")
    return bytes([len(body)]) + body


def encode_address(number: str) -> bytes:
    digits = number.lstrip("+")
    toa = 0x91 if number.startswith("+") else 0x81
    return bytes([len(digits), toa]) + _semi_octets(digits)


def _semi_octets(digits: str) -> bytes:
    swapped = digits + "F" * (len(digits) % 2)
    return bytes(int(swapped[i + 1] + swapped[i], 16) for i in range(0, len(swapped), 2))


def _read_semi_octets(data: bytes) -> str:
    digits = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in data)
    return digits.rstrip("F").replace("A", "*").replace("B", "#")


def _encode_time(when: float) -> bytes:
    t = time.gmtime(when)
    digits = f"{t.tm_year % 100:02d}{t.tm_mon:02d}{t.tm_mday:02d}{t.tm_hour:02d}{t.tm_min:02d}{t.tm_sec:02d}00"
    return _semi_octets(digits)


def _decode_time(data: bytes) -> float | None:
    import calendar  # loaded with the first text: a box that gets none never holds it

    d = [(b & 0x0F) * 10 + (b >> 4) for b in data[:6]]
    tz_raw = (data[6] & 0x07) * 10 + (data[6] >> 4)  # quarter hours; bit 3 of the low nibble is the sign
    offset = tz_raw * 15 * 60 * (-1 if data[6] & 0x08 else 1)
    try:
        return calendar.timegm((2000 + d[0], d[1], d[2], d[3], d[4], d[5], 0, 0, 0)) - offset
    except (ValueError, OverflowError):
        return None


def decode(hex_pdu: str) -> Message:
    """An SMS-DELIVER (what a modem stores) or SMS-SUBMIT (what it was asked to send), SMSC field first.

    Raises ValueError with the reason for anything that is not a well-formed PDU of these two kinds.
    """
    try:
        data = bytes.fromhex(hex_pdu.strip())
        return _decode(data)
    except (IndexError, ValueError) as exc:
        raise ValueError(f"not an SMS PDU ({exc or 'too short'}): {hex_pdu[:40]!r}") from None


def _decode(data: bytes) -> Message:
    pos = 1 + data[0]  # skip the SMSC address
    first = data[pos]
    kind = first & 0x03
    pos += 1
    if kind == 1:
        pos += 1  # message reference
    elif kind != 0:
        raise ValueError(f"message type {kind} is neither SMS-DELIVER nor SMS-SUBMIT")
    number, pos = _decode_address(data, pos)
    dcs = data[pos + 1]
    pos += 2
    sent_at = None
    if kind == 0:
        sent_at = _decode_time(data[pos:pos + 7])
        pos += 7
    else:
        pos += {0: 0, 2: 1}.get((first >> 3) & 3, 7)  # validity period: none, relative, or 7 octets
    udl = data[pos]
    ud = data[pos + 1:]
    header, part = b"", None
    if first & 0x40:
        header = ud[: ud[0] + 1]
        part = _concatenation(header[1:])
    charset = gsm7.sms_charset(dcs)
    if charset == "gsm7":
        skip = (len(header) * 8 + 6) // 7
        text = gsm7.from_septets(gsm7.unpack(ud, udl - skip, skip_octets=len(header)))
    elif charset == "ucs2":
        text = ud[len(header):udl].decode("utf-16-be", errors="replace")
    else:
        text = ud[len(header):udl].decode("latin-1")
    return Message(number, text, sent_at, part)


def _decode_address(data: bytes, pos: int) -> tuple[str | None, int]:
    length, toa = data[pos], data[pos + 1]
    octets = (length + 1) // 2
    raw = data[pos + 2: pos + 2 + octets]
    if len(raw) < octets:
        raise ValueError("address runs past the end")
    if toa & 0x70 == 0x50:  # alphanumeric sender ("Bank", "MTS")
        number = gsm7.from_septets(gsm7.unpack(raw, length * 4 // 7))
    else:
        number = _read_semi_octets(raw)[:length]
        if toa & 0x70 == 0x10 and number:
            number = "+" + number
    return number or None, pos + 2 + octets


def _concatenation(elements: bytes) -> tuple[int, int, int] | None:
    i = 0
    while i + 1 < len(elements):
        iei, size = elements[i], elements[i + 1]
        body = elements[i + 2: i + 2 + size]
        if iei == 0x00 and size == 3:
            return body[0], body[1], body[2]
        if iei == 0x08 and size == 4:
            return (body[0] << 8) | body[1], body[2], body[3]
        i += 2 + size
    return None
