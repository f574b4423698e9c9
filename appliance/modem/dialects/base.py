"""What every dialect shares: the modem happenings it parses reports into, and the 3GPP TS 27.007 basics.

A dialect is pure: it turns report lines into happenings and names the commands to send. It never
touches the port, so transcripts from the vendors' manuals replay through it in tests.
"""

from __future__ import annotations

import csv
import dataclasses
from typing import Any

from appliance.core.lean import lean
from appliance.modem.framing import DleEvent

# --- happenings: what a modem report means, in the line's words ------------------------------


@lean(frozen=True)
class Ring:
    pass


@lean(frozen=True)
class CallerNumber:
    number: str | None  # None when withheld or unavailable


@lean(frozen=True)
class Dtmf:
    digit: str


def _brief(self: Any) -> str:
    """The repr without fields left at their default (`call`, `domain`), so transcripts stay short."""
    shown = [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)
             if f.name not in ("call", "domain") or getattr(self, f.name) != f.default]
    return f"{type(self).__name__}({', '.join(shown)})"


@lean(frozen=True, repr=False)
class LineAnswered:
    call: int | None = None  # the modem's call index (+CLCC <id>, ^CONN:<id>) when the report gives it

    __repr__ = _brief


@lean(frozen=True, repr=False)
class LineHungUp:
    reason: str
    call: int | None = None

    __repr__ = _brief


@lean(frozen=True)
class OwedOk:
    """OK read with no command in flight: the reply owed to a command already ended, as a late ATA's own OK is
    when the caller's NO CARRIER was read as its reply. It says that ATA answered someone (the next caller)."""


@lean(frozen=True)
class CallWaiting:
    """A second caller while a call is up (+CCWA, +CLCC stat 5): never news about the first call."""

    number: str | None
    call: int | None = None


@lean(frozen=True)
class MissedCall:
    """The modem's own note that a call rang and was not answered (SIMCom MISSED_CALL:)."""

    number: str | None


@lean(frozen=True)
class ModemWarning:
    """Something the box cannot fix by itself but an admin must hear: kind is power, sms_full or temperature."""

    kind: str
    text: str


@lean(frozen=True)
class NewSms:
    storage: str
    index: int


@lean(frozen=True, repr=False)
class Registration:
    stat: int
    domain: str = "CREG"  # CREG circuit-switched, CGREG packet (GPRS/UMTS), CEREG LTE (EPS)

    __repr__ = _brief


@lean(frozen=True)
class PowerDown:
    reason: str


@lean(frozen=True)
class SimStatus:
    state: str  # READY, SIM PIN, NOT READY, ...


@lean(frozen=True)
class Forwarded:
    """+CSSU: 0 (27.007 supplementary service notification, after AT+CSSN=0,1): the call being set up was
    forwarded to this line by the network, e.g. from a sibling box's busy line."""


@lean(frozen=True)
class UssdReply:
    status: int
    text: str | None
    dcs: int


@lean(frozen=True)
class Signal:
    rssi: int  # 0..31, 99 unknown (27.007 +CSQ scale)


Happening = (
    Ring | CallerNumber | Dtmf | LineAnswered | LineHungUp | OwedOk | CallWaiting | MissedCall | ModemWarning | NewSms
    | Registration | PowerDown | SimStatus | UssdReply | Signal | Forwarded
)

@lean(frozen=True)
class VoiceSwitching:
    """How a family puts a call's audio on its USB voice path (docs/modems.md, "Line audio").

    `when` is "answered" (once ATA is answered OK or the dialled party picked up) or "connected" (once the
    modem itself reports the call up: SIMCom's VOICE CALL: BEGIN; sent earlier, it is ignored and the caller
    hears one-way audio). `off` goes out when the modem reports the call's end.
    """

    on: tuple[str, ...]
    when: str = "answered"
    off: tuple[str, ...] = ()


DTMF_DIGITS = frozenset("0123456789*#ABCD")
REGISTRATION_WORDS = {
    0: "not registered, not searching",
    1: "registered (home)",
    2: "not registered, searching",
    3: "registration denied",
    4: "registration unknown",
    5: "registered (roaming)",
}


def fields(text: str) -> list[str]:
    """Split a report's parameters on commas outside quotes, quotes removed."""
    if not text:
        return []
    return [f.strip() for f in next(csv.reader([text], skipinitialspace=True))]


def after(line: str, prefix: str) -> str:
    return line[len(prefix):].strip()


def caller_from_clip(line: str) -> CallerNumber:
    """+CLIP: <number>,<type>[,<subaddr>,<satype>,<alpha>,<CLI validity>]; empty or validity 1/2 = withheld."""
    parts = fields(after(line, "+CLIP:"))
    number = parts[0] if parts else ""
    if len(parts) >= 6 and parts[5] in ("1", "2"):
        number = ""
    return CallerNumber(number or None)


def registration_stat(text: str) -> int | None:
    """<stat> of any +CREG/+CGREG/+CEREG line: the reports `<stat>` and `<stat>,"<lac>","<ci>"[,<AcT>]`,
    the replies to AT+CREG? `<n>,<stat>` and `<n>,<stat>,"<lac>","<ci>"[,<AcT>]`. A quoted (hex) second
    field is a location area, so the first field is the state; an unquoted one is the state after <n>."""
    raw = [part.strip() for part in text.split(",")]
    if not raw or not raw[0].isdigit():
        return None
    if len(raw) >= 2 and raw[1].isdigit() and int(raw[1]) <= 10:
        return int(raw[1])
    return int(raw[0])


REGISTRATION_PREFIXES = ("+CREG:", "+CGREG:", "+CEREG:")
# The optional commands a modem may refuse, and what the line then lacks (status()["missing"], `hotline check`).
CAPABILITIES = {
    "AT+CLIP=1": "caller_id", "AT+VCID=1": "caller_id", "AT+CREG=1": "registration_reports",
    "AT+CEREG=1": "lte_registration_reports", "AT+CNMI=2,1,0,0,0": "sms_reports", "AT+CLCC=1": "call_reports",
    "AT+DDET=1": "dtmf_detection", "AT+QTONEDET=1": "dtmf_detection", "AT^CVOICE?": "voice",
    "AT^DDSETEX=2": "audio_routing", "AT+CPCMREG=1": "audio_routing",
    "AT+QPCMV=1,0": "audio_routing", "AT+QPCMV=1,2": "audio_routing", "AT+CCWA=1": "call_waiting_reports",
    "AT+CCWA=0,0": "call_waiting_off",
}


def caller_from_clcc(parts: list[str]) -> str | None:
    return parts[5] if len(parts) > 5 and parts[5] else None


def dtmf_report(text: str) -> list[Happening]:
    """+DTMF: 5, +DTMF:5 and +DTMF: 5,<duration>: the key."""
    digit = text.split(",")[0].strip()
    return [Dtmf(digit)] if digit in DTMF_DIGITS else []


def warning_for(line: str) -> ModemWarning | None:
    """Under/over-voltage warnings (SIMCom spells it WARNNING), SMS storage full, temperature (+CMTE)."""
    if line.startswith(("UNDER-VOLTAGE WARN", "OVER-VOLTAGE WARN")):
        return ModemWarning("power", line)
    if line.startswith("+CMTE:"):
        level = after(line, "+CMTE:").split(",")[0].strip()
        words = {"-2": "below the lowest safe temperature", "-1": "cold: near the lower limit",
                 "1": "hot: near the upper limit", "2": "above the highest safe temperature"}
        return ModemWarning("temperature", f"modem temperature {words.get(level, level)} ({line})")
    if line.startswith("^SMMEMFULL") or line.lower().startswith('+qind: "smsfull"'):
        return ModemWarning("sms_full", line)
    return None


class Dialect:
    """3GPP TS 27.007 behaviour that every GSM family shares; families override what differs."""

    name = "generic"
    report_prefixes: tuple[str, ...] = (
        "RING", "+CRING:", "+CLIP:", "NO CARRIER", "BUSY", "NO ANSWER", "+CMTI:", "+CREG:", "+CUSD:",
        "NORMAL POWER DOWN", "UNDER-VOLTAGE", "OVER-VOLTAGE", "+CPIN:", "RDY", "Call Ready", "SMS Ready",
        "+CFUN:", "+CLCC:", "+COLP:", "+CGREG:", "+CEREG:", "+CCWA:", "+DTMF:", "+CMTE:", "+CSSU:",
    )
    init_commands: tuple[str, ...] = (
        "AT+CMEE=2", "AT+CLIP=1", "AT+CMGF=1", 'AT+CSCS="GSM"', "AT+CNMI=2,1,0,0,0", "AT+CREG=1",
    )
    answer_command = "ATA"
    hangup_command = "ATH"
    after_answer: tuple[str, ...] = ()  # sent by the line after every answer, whatever the line's audio
    # line audio ("serial" voice port, "uac" USB sound card) -> how the call's voice is switched there
    usb_voice: dict[str, VoiceSwitching] = {}
    # True where the modem may drop a call silently: the line then asks AT+CLCC while a call is up.
    poll_call_state = False
    gsm = True  # False for an analogue (V.253) line: no SIM, SMS or USSD

    def capability(self, command: str) -> str | None:
        """The feature an optional command gives (None: not an optional command)."""
        return CAPABILITIES.get(command)

    def is_report(self, line: str) -> bool:
        return line.startswith(self.report_prefixes)

    def dial_command(self, number: str) -> str:
        return f"ATD{number};"

    def parse(self, token: str | DleEvent) -> list[Happening]:
        if isinstance(token, DleEvent):
            return []
        line = token
        if line == "RING" or line.startswith("+CRING:"):
            return [Ring()]
        if line.startswith("+CLIP:"):
            return [caller_from_clip(line)]
        if line.startswith("+CSSU:"):
            return [Forwarded()] if fields(after(line, "+CSSU:"))[:1] == ["0"] else []
        if line == "NO CARRIER":
            return [LineHungUp("caller hung up")]
        if line == "OK":
            return [OwedOk()]
        if line == "BUSY":
            return [LineHungUp("busy")]
        if line == "NO ANSWER":
            return [LineHungUp("no answer")]
        if line.startswith("+CLCC:"):
            return self._clcc(line)
        if line.startswith("+COLP:"):
            return [LineAnswered()]  # with AT+COLP=1: the dialled party answered
        if line.startswith("+CMTI:"):
            parts = fields(after(line, "+CMTI:"))
            if len(parts) == 2 and parts[1].isdigit():
                return [NewSms(parts[0], int(parts[1]))]
            return []
        if line.startswith(REGISTRATION_PREFIXES):
            domain, _, rest = line.partition(":")
            stat = registration_stat(rest.strip())
            return [] if stat is None else [Registration(stat, domain[1:])]
        if line.startswith("+DTMF:"):
            return dtmf_report(after(line, "+DTMF:"))
        if line.startswith("+CCWA:"):
            parts = fields(after(line, "+CCWA:"))  # <number>,<type>,<class>[,...]; 2 fields: a query reply
            return [CallWaiting(parts[0] or None)] if len(parts) >= 3 and parts[2] in ("1", "") else []
        warning = warning_for(line)
        if warning is not None:
            return [warning]
        if line.endswith("POWER DOWN"):
            return [PowerDown(line.lower())]
        if line.startswith("+CPIN:"):
            return [SimStatus(after(line, "+CPIN:"))]
        if line.startswith("+CUSD:"):
            return [parse_cusd(line)]
        return []

    def _clcc(self, line: str) -> list[Happening]:
        """+CLCC: <id>,<dir>,<stat>,<mode>,<mpty>[,<number>,...] as a report (AT+CLCC=1): stat 0 active,
        4 incoming (its number stands in for a +CLIP that never came), 5 waiting, 6 disconnected."""
        parts = fields(after(line, "+CLCC:"))
        if len(parts) < 4 or parts[3] != "0" or not parts[0].isdigit():
            return []  # not a voice call
        call = int(parts[0])
        if parts[2] == "0":
            return [LineAnswered(call)]
        if parts[2] == "4":
            number = caller_from_clcc(parts)
            return [CallerNumber(number)] if number else []
        if parts[2] == "5":
            return [CallWaiting(caller_from_clcc(parts), call)]
        if parts[2] == "6":
            return [LineHungUp("caller hung up", call)]
        return []


def parse_cusd(line: str) -> UssdReply:
    """+CUSD: <m>[,<str>,<dcs>]"""
    parts = fields(after(line, "+CUSD:"))
    status = int(parts[0]) if parts and parts[0].isdigit() else 4
    text = parts[1] if len(parts) > 1 else None
    dcs = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 15
    return UssdReply(status, text, dcs)
