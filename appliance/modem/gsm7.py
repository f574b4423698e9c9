"""The GSM 03.38 (3GPP TS 23.038) 7-bit alphabet and its packing; UCS-2 hex. Pure functions.

SMS and USSD share these: a text that fits the alphabet travels as 7-bit septets (160 to an SMS),
anything else (Cyrillic, emoji) as UCS-2 (70 to an SMS).
"""

from __future__ import annotations

# index = the septet; 0x1B is the escape to the extension table, never a character of its own
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
ESCAPE = 0x1B
EXTENSION = {0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]",
             0x40: "|", 0x65: "€"}
_CODE = {ch: i for i, ch in enumerate(BASIC) if i != ESCAPE}
_EXT_CODE = {ch: code for code, ch in EXTENSION.items()}

assert len(BASIC) == 128


def to_septets(text: str) -> list[int] | None:
    """The septets for `text` (extension characters take two), or None when it does not fit the alphabet."""
    out: list[int] = []
    for ch in text:
        if ch in _CODE:
            out.append(_CODE[ch])
        elif ch in _EXT_CODE:
            out.extend((ESCAPE, _EXT_CODE[ch]))
        else:
            return None
    return out


def fits(text: str) -> bool:
    return to_septets(text) is not None


def from_septets(septets: list[int]) -> str:
    """Septets to text; an escape before an unknown code reads as the basic character (23.038 6.2.1.1)."""
    out: list[str] = []
    escaped = False
    for s in septets:
        if escaped:
            out.append(EXTENSION.get(s, BASIC[s] if s != ESCAPE else " "))
            escaped = False
        elif s == ESCAPE:
            escaped = True
        else:
            out.append(BASIC[s & 0x7F])
    return "".join(out)


def pack(septets: list[int], *, prefix: bytes = b"") -> bytes:
    """Septets packed LSB first after `prefix` octets (a UDH), padded with fill bits to a septet boundary."""
    value, pos = int.from_bytes(prefix, "little"), len(prefix) * 8
    pos += -pos % 7
    for s in septets:
        value |= (s & 0x7F) << pos
        pos += 7
    return value.to_bytes((pos + 7) // 8, "little")


def unpack(data: bytes, count: int | None = None, *, skip_octets: int = 0) -> list[int]:
    """`count` septets (all that fit when None) from `data`, starting after `skip_octets` and the fill bits."""
    value = int.from_bytes(data, "little")
    start = skip_octets * 8
    start += -start % 7
    available = (len(data) * 8 - start) // 7
    count = available if count is None else min(count, available)
    return [(value >> (start + 7 * i)) & 0x7F for i in range(count)]


def ucs2_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def from_ucs2_hex(text: str) -> str:
    return bytes.fromhex(text).decode("utf-16-be", errors="replace")


def is_hex(text: str) -> bool:
    return len(text) >= 2 and len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text)


def sms_charset(dcs: int) -> str:
    """"gsm7", "8bit" or "ucs2" for an SMS data coding scheme (TS 23.038 ch. 4)."""
    group = dcs >> 4
    if group <= 0x7:  # general data coding, with or without automatic deletion: bits 3..2
        return ("gsm7", "8bit", "ucs2", "gsm7")[(dcs >> 2) & 3]
    if group == 0xE:
        return "ucs2"
    if group == 0xF:
        return "8bit" if dcs & 0x04 else "gsm7"
    return "gsm7"  # message waiting groups (C, D) and reserved ones


def cbs_charset(dcs: int) -> str:
    """The same for a cell broadcast / USSD data coding scheme (TS 23.038 ch. 5): 15 is GSM 7-bit, 72 UCS-2."""
    group = dcs >> 4
    if dcs == 0x11:
        return "ucs2"  # UCS-2 preceded by a language
    if group in (0x0, 0x1, 0x2, 0x3):
        return "gsm7"  # language groups
    if group in (0x4, 0x5, 0x6, 0x7, 0x9):
        return ("gsm7", "8bit", "ucs2", "gsm7")[(dcs >> 2) & 3]
    if group == 0xF:
        return "8bit" if dcs & 0x04 else "gsm7"
    return "gsm7"
