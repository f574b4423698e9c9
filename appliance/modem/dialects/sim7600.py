"""SIMCom SIM7600/SIM7500/A76xx (SIM7500_SIM7600 Series AT Command Manual).

* Caller ID: `+CLIP:` as in 27.007 after each RING.
* Call state: `VOICE CALL: BEGIN` when a call connects, `VOICE CALL: END: <duration>` when it ends
  (often with no NO CARRIER at all on a remote hang-up).
* DTMF detection: `+RXDTMF: <key>` (switched on with `AT+DDET=1` on firmwares that need it).
* A call that rang out unanswered: `MISSED_CALL: 14:01 <number>`.
* Hang-up: `AT+CHUP`. DTMF sending: `AT+VTS=<digit>`.
* Audio: with the analogue codec nothing to do; voice over USB needs `AT+CPCMREG=1` after
  `VOICE CALL: BEGIN` (and `AT+CPCMREG=0` at the end) or the caller hears nothing.
"""

from __future__ import annotations

from appliance.modem.dialects.base import (
    DTMF_DIGITS,
    Dialect,
    Dtmf,
    Happening,
    LineAnswered,
    LineHungUp,
    MissedCall,
    VoiceSwitching,
    after,
)
from appliance.modem.framing import DleEvent


class Sim7600(Dialect):
    name = "sim7600"
    report_prefixes = Dialect.report_prefixes + ("+RXDTMF:", "VOICE CALL:", "MISSED_CALL:", "PB DONE", "SMS DONE")
    init_commands = Dialect.init_commands + ("AT+CEREG=1", "AT+DDET=1")
    hangup_command = "AT+CHUP"
    # the USB voice port (interface 4 on SIM7600, 2 on A76xx); off at the end, or the next call has no audio
    usb_voice = {"serial": VoiceSwitching(("AT+CPCMREG=1",), "connected", ("AT+CPCMREG=0",))}

    def parse(self, token: str | DleEvent) -> list[Happening]:
        if isinstance(token, str):
            if token.startswith("+RXDTMF:"):
                digit = after(token, "+RXDTMF:")
                return [Dtmf(digit)] if digit in DTMF_DIGITS else []
            if token == "VOICE CALL: BEGIN":
                return [LineAnswered()]
            if token.startswith("VOICE CALL: END"):
                return [LineHungUp("caller hung up")]
            if token.startswith("MISSED_CALL:"):  # MISSED_CALL: <hh:mm[AM|PM]> <number>
                words = after(token, "MISSED_CALL:").split()
                return [MissedCall(words[-1] if len(words) > 1 else None)]
        return super().parse(token)
