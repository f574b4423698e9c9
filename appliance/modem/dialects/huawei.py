"""Huawei E1550/E173/E1752 (HUAWEI UMTS Datacard AT Command Interface Specification).

* Voice must be enabled in the firmware: `AT^CVOICE?` answers `^CVOICE: 0,8000,16,20` when it is,
  ERROR on data-only firmwares (then no call can carry audio).
* Call state: `^ORIG:<id>,<type>` dialling, `^CONF:<id>` ringing back, `^CONN:<id>,<type>` connected,
  `^CEND:<id>,<duration>,<end status>,<cause>` ended (cause 16 normal, 17 busy, 19 no answer).
* DTMF detection: `^DDTMF: <key>`. Caller ID: 27.007 `+CLIP:`.
* Hang-up: `AT+CHUP`. DTMF sending: `AT^DTMF=<id>,<digit>`.
* Audio: 8 kHz 16-bit PCM on the separate serial audio port (the stick's second ttyUSB), switched
  on after each connect with `AT^DDSETEX=2`.
* `^SMMEMFULL: "SM"`: SMS storage full (the line deletes read messages).
* Unsupported commands end with `COMMAND NOT SUPPORT` (a final result, like ERROR).
* Mid-reply noise: `^RSSI:`, `^HCSQ:`, `^MODE:`, `^DSFLOWRPT:` arrive at any time.
"""

from __future__ import annotations

from appliance.modem.dialects.base import (
    DTMF_DIGITS,
    Dialect,
    Dtmf,
    Happening,
    LineAnswered,
    LineHungUp,
    Signal,
    VoiceSwitching,
    after,
    fields,
    warning_for,
)
from appliance.modem.framing import DleEvent


def _call_id(text: str) -> int | None:
    first = text.split(",")[0].strip()
    return int(first) if first.isdigit() else None

CEND_CAUSES = {16: "caller hung up", 17: "busy", 18: "no answer", 19: "no answer", 21: "call rejected",
               31: "call dropped by the network"}


class Huawei(Dialect):
    name = "huawei"
    report_prefixes = Dialect.report_prefixes + ("^",)  # every ^XXX line is a report
    init_commands = Dialect.init_commands + ("AT^CVOICE?",)
    hangup_command = "AT+CHUP"
    after_answer = ("AT^DDSETEX=2",)  # a Huawei stick has no other audio path: the line always sends it
    usb_voice = {"serial": VoiceSwitching(())}

    def parse(self, token: str | DleEvent) -> list[Happening]:
        if isinstance(token, str) and token.startswith("^"):
            if token.startswith("^DDTMF:"):
                digit = after(token, "^DDTMF:")
                return [Dtmf(digit)] if digit in DTMF_DIGITS else []
            if token.startswith("^CONN:"):
                return [LineAnswered(_call_id(after(token, "^CONN:")))]
            if token.startswith("^CEND:"):
                parts = fields(after(token, "^CEND:"))
                cause = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 16
                return [LineHungUp(CEND_CAUSES.get(cause, f"call ended (cause {cause})"),
                                  _call_id(after(token, "^CEND:")))]
            warning = warning_for(token)  # ^SMMEMFULL: the SIM's SMS storage is full
            if warning is not None:
                return [warning]
            if token.startswith("^RSSI:"):
                value = after(token, "^RSSI:")
                return [Signal(int(value))] if value.isdigit() else []
            return []
        return super().parse(token)
