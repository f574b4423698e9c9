"""A V.253 voice modem on an analogue landline (FXO): Conexant/USR class, as vgetty drives them.

* `AT+FCLASS=8` voice mode; `AT+VCID=1` formatted caller ID between the first and second RING:
  `DATE = 0321`, `TIME = 1405`, `NMBR = 5551234` (`P` private, `O` out of area), `NAME = ...`; other
  chipsets say `NMBR=5551234`, `DDN_NMBR= 5551234`, `CALLER NUMBER: 5551234` or `RING;5551234`. The line
  answers on the second RING (`answer_after_rings`) so the number is known first.
* Off-hook: `AT+VLS=1` (line to the modem); on-hook: `ATH` / `AT+VLS=0`.
* Events come <DLE>-shielded: digits 0-9 * # A-D are DTMF (a held key may come as `/`, the digit
  repeated, `~`: one key); `b`/`K` busy, `d`/`i` dial tone, `s` silence, `q` quiet (all four end the
  call), `R` ring, `r` ringback. On an analogue line the far end hanging up shows only as busy
  or dial tone from the exchange: that is the hang-up report.
* Outbound: `ATDT<number>`, `VCON` once the call is assumed connected.
* Audio: over the serial port itself (`AT+VTX`/`AT+VRX`, DLE framing), 8 kHz.
* No SIM, SMS, USSD or signal: health is the modem answering.
"""

from __future__ import annotations

from appliance.modem.dialects.base import (
    DTMF_DIGITS,
    CallerNumber,
    Dialect,
    Dtmf,
    Happening,
    LineAnswered,
    LineHungUp,
    Ring,
)
from appliance.modem.framing import DleEvent

# <DLE> codes after which nobody is on the line any more: on an analogue line the far end hanging up shows only
# as the exchange's busy or dial tone, or as the line going silent. `K`/`i` are the busy/dial-tone codes of
# chipsets driven in mgetty's notation.
HANGUP_CODES = {
    "b": "busy tone: caller hung up", "K": "busy tone: caller hung up",
    "d": "dial tone: caller hung up", "i": "dial tone: caller hung up",
    "s": "silence: caller gone", "q": "quiet: caller gone",
}
TONE_START, TONE_END = "/", "~"  # a key held down: <DLE>/ <DLE>5 <DLE>5 ... <DLE>~ is one key
CALLER_ID_PREFIXES = ("NMBR", "DDN_NMBR", "CALLER NUMBER")
WITHHELD = ("", "P", "O", "PRIVATE", "UNAVAILABLE", "UNKNOWN", "OUT OF AREA")


def caller_number(text: str) -> CallerNumber:
    """The number after `NMBR = `, `NMBR=`, `DDN_NMBR= `, `CALLER NUMBER: ` or `RING;`; P/O (private, out of
    area) and the like mean withheld."""
    number = text.strip()
    return CallerNumber(None if number.upper() in WITHHELD else number)


class V253(Dialect):
    name = "v253"
    gsm = False
    report_prefixes = ("RING", "DATE", "TIME", "NMBR", "NAME", "MESG", "VCON", "NO CARRIER", "BUSY", "DDN_NMBR",
                       "CALLER NUMBER")
    init_commands = ("AT+FCLASS=8", "AT+VCID=1")
    answer_command = "AT+VLS=1"

    def __init__(self) -> None:
        self._held: str | None = None  # the key being held down between <DLE>/ and <DLE>~

    def dial_command(self, number: str) -> str:
        return f"ATDT{number}"

    def parse(self, token: str | DleEvent) -> list[Happening]:
        if isinstance(token, DleEvent):
            return self._code(token.code)
        if token == "RING":
            return [Ring()]
        if token.startswith("RING;"):  # RING;<number>: caller ID on the ring itself
            return [Ring(), caller_number(token[5:])] if token[5:].strip() else [Ring()]
        if token.startswith(CALLER_ID_PREFIXES):
            separator = ":" if token.startswith("CALLER NUMBER") else "="
            return [caller_number(token.partition(separator)[2])]
        if token == "VCON":
            return [LineAnswered()]
        if token in ("NO CARRIER", "BUSY"):
            return [LineHungUp("caller hung up" if token == "NO CARRIER" else "busy")]
        return []

    def _code(self, code: str) -> list[Happening]:
        if code == TONE_START:
            self._held = ""
            return []
        if code == TONE_END:
            self._held = None
            return []
        if code in DTMF_DIGITS:
            if self._held == code:
                return []  # the same key, still held
            if self._held is not None:
                self._held = code
            return [Dtmf(code)]
        if code in HANGUP_CODES:
            return [LineHungUp(HANGUP_CODES[code])]
        return [Ring()] if code == "R" else []
