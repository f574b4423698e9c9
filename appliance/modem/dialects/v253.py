"""A V.253 voice modem on an analogue landline (FXO): Conexant/USR class, as vgetty drives them.

* `AT+FCLASS=8` voice mode; `AT+VCID=1` formatted caller ID between the first and second RING:
  `DATE = 0321`, `TIME = 1405`, `NMBR = 5551234` (`P` private, `O` out of area), `NAME = ...`.
* Off-hook: `AT+VLS=1` (line to the modem); on-hook: `ATH` / `AT+VLS=0`.
* Events come <DLE>-shielded: digits 0-9 * # A-D are DTMF; `b` busy, `d` dial tone, `s` silence,
  `q` quiet, `R` ring, `r` ringback. On an analogue line the far end hanging up shows only as busy
  or dial tone from the exchange: that is the hang-up report.
* Outbound: `ATDT<number>`, `VCON` once the call is assumed connected.
* Audio: over the serial port itself (`AT+VTX`/`AT+VRX`, DLE framing), 8 kHz.
* No SIM, SMS, USSD or signal: health is the modem answering.
"""

from __future__ import annotations

from appliance.modem.at import DleEvent
from appliance.modem.dialects.base import (
    DTMF_DIGITS,
    CallConnected,
    CallEnded,
    CallerNumber,
    Dialect,
    Dtmf,
    Happening,
    Ring,
)

TONES = {"b": "busy tone: caller hung up", "d": "dial tone: caller hung up"}


class V253(Dialect):
    name = "v253"
    gsm = False
    report_prefixes = ("RING", "DATE", "TIME", "NMBR", "NAME", "MESG", "VCON", "NO CARRIER", "BUSY")
    init_commands = ("AT+FCLASS=8", "AT+VCID=1")
    answer_command = "AT+VLS=1"

    def dial_command(self, number: str) -> str:
        return f"ATDT{number}"

    def send_dtmf_command(self, digit: str) -> str:
        return f"AT+VTS={digit}"

    def parse(self, token: str | DleEvent) -> list[Happening]:
        if isinstance(token, DleEvent):
            if token.code in DTMF_DIGITS:
                return [Dtmf(token.code)]
            if token.code in TONES:
                return [CallEnded(TONES[token.code])]
            return [Ring()] if token.code == "R" else []
        if token == "RING":
            return [Ring()]
        if token.startswith("NMBR"):
            number = token.partition("=")[2].strip()
            return [CallerNumber(None if number in ("", "P", "O") else number)]
        if token == "VCON":
            return [CallConnected()]
        if token in ("NO CARRIER", "BUSY"):
            return [CallEnded("caller hung up" if token == "NO CARRIER" else "busy")]
        return []
