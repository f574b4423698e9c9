"""Quectel EC2x/EG25/UC20 (EC2x&EG9x&EM05 Series AT Commands Manual).

* Caller ID: 27.007 `+CLIP:`.
* DTMF detection: `AT+QTONEDET=1` -> `+QTONEDET: <code>`, the key as its ASCII code (49 is "1").
* Call state: the module reports no call-state changes by default, so the line asks `AT+CLCC`
  every few seconds while a call is up; an empty list means the far end is gone.
* Registration: LTE-only modules (EG25 on a 4G-only network) report `+CEREG` only.
* SMS storage full: `+QIND: "smsfull","SM"`.
* Hang-up: `ATH` (or `AT+CHUP`). DTMF sending: `AT+VTS=<digit>`.
* Audio: analogue/PCM codec by default; voice over USB after `AT+QPCMV=1,0` (the USB NMEA port, interface 1,
  becomes the voice port: GNSS output must be off there, `AT+QGPSCFG="outport","none"`) or `AT+QPCMV=1,2`
  (USB audio class: an ALSA card). Sent once the call is answered; it holds until changed.
* GNSS: `AT+QGPSCFG="outport","none"` at set-up, whatever the line's audio: with GNSS running (autogps, or
  left on by another user of the module) NMEA sentences otherwise land in the call's audio on the USB NMEA
  port that `AT+QPCMV=1,0` makes the voice port. A module without GNSS answers ERROR: logged, the line comes
  up all the same (a refused plain init command never keeps a line down).
"""

from __future__ import annotations

from appliance.modem.dialects.base import DTMF_DIGITS, Dialect, Dtmf, Happening, VoiceSwitching, after
from appliance.modem.framing import DleEvent

GNSS_OFF_THE_VOICE_PORT = 'AT+QGPSCFG="outport","none"'


class Quectel(Dialect):
    name = "quectel"
    report_prefixes = Dialect.report_prefixes + ("+QTONEDET:", "+QIND:", "+QUSIM:", "POWERED DOWN")
    init_commands = Dialect.init_commands + ("AT+CEREG=1", "AT+QTONEDET=1", GNSS_OFF_THE_VOICE_PORT)
    poll_call_state = True
    usb_voice = {"serial": VoiceSwitching(("AT+QPCMV=1,0",)), "uac": VoiceSwitching(("AT+QPCMV=1,2",))}

    def parse(self, token: str | DleEvent) -> list[Happening]:
        if isinstance(token, str) and token.startswith("+QTONEDET:"):
            code = after(token, "+QTONEDET:")
            digit = chr(int(code)) if code.isdigit() and int(code) < 128 else code
            return [Dtmf(digit)] if digit in DTMF_DIGITS else []
        if token == "POWERED DOWN":
            token = "NORMAL POWER DOWN"
        return super().parse(token)
