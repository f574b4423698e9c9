"""What every dialect shares: the modem happenings it parses reports into, and the 3GPP TS 27.007 basics.

A dialect is pure: it turns report lines into happenings and names the commands to send. It never
touches the port, so transcripts from the vendors' manuals replay through it in tests.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from appliance.modem.at import DleEvent

# --- happenings: what a modem report means, in the line's words ------------------------------


@dataclass(frozen=True)
class Ring:
    pass


@dataclass(frozen=True)
class CallerNumber:
    number: str | None  # None when withheld or unavailable


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class CallConnected:
    pass


@dataclass(frozen=True)
class CallEnded:
    reason: str


@dataclass(frozen=True)
class NewSms:
    storage: str
    index: int


@dataclass(frozen=True)
class Registration:
    stat: int


@dataclass(frozen=True)
class PowerDown:
    reason: str


@dataclass(frozen=True)
class SimStatus:
    state: str  # READY, SIM PIN, NOT READY, ...


@dataclass(frozen=True)
class UssdReply:
    status: int
    text: str | None
    dcs: int


@dataclass(frozen=True)
class Signal:
    rssi: int  # 0..31, 99 unknown (27.007 +CSQ scale)


Happening = (
    Ring | CallerNumber | Dtmf | CallConnected | CallEnded | NewSms | Registration | PowerDown | SimStatus
    | UssdReply | Signal
)

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
    """+CREG: <stat> (report) or +CREG: <n>,<stat>[,...] (reply to AT+CREG?)."""
    parts = fields(text)
    try:
        if len(parts) >= 2 and parts[1].isdigit():
            return int(parts[1])
        return int(parts[0])
    except (ValueError, IndexError):
        return None


class Dialect:
    """3GPP TS 27.007 behaviour that every GSM family shares; families override what differs."""

    name = "generic"
    report_prefixes: tuple[str, ...] = (
        "RING", "+CRING:", "+CLIP:", "NO CARRIER", "BUSY", "NO ANSWER", "+CMTI:", "+CREG:", "+CUSD:",
        "NORMAL POWER DOWN", "UNDER-VOLTAGE", "OVER-VOLTAGE", "+CPIN:", "RDY", "Call Ready", "SMS Ready",
        "+CFUN:", "+CLCC:", "+COLP:",
    )
    init_commands: tuple[str, ...] = (
        "AT+CMEE=2", "AT+CLIP=1", "AT+CMGF=1", 'AT+CSCS="GSM"', "AT+CNMI=2,1,0,0,0", "AT+CREG=1",
    )
    answer_command = "ATA"
    hangup_command = "ATH"
    after_answer: tuple[str, ...] = ()  # e.g. switching voice over USB on
    # True where the modem may drop a call silently: the line then asks AT+CLCC while a call is up.
    poll_call_state = False
    gsm = True  # False for an analogue (V.253) line: no SIM, SMS or USSD

    def is_report(self, line: str) -> bool:
        return line.startswith(self.report_prefixes)

    def dial_command(self, number: str) -> str:
        return f"ATD{number};"

    def send_dtmf_command(self, digit: str) -> str:
        return f'AT+VTS="{digit}"'

    def parse(self, token: str | DleEvent) -> list[Happening]:
        if isinstance(token, DleEvent):
            return []
        line = token
        if line == "RING" or line.startswith("+CRING:"):
            return [Ring()]
        if line.startswith("+CLIP:"):
            return [caller_from_clip(line)]
        if line == "NO CARRIER":
            return [CallEnded("caller hung up")]
        if line == "BUSY":
            return [CallEnded("busy")]
        if line == "NO ANSWER":
            return [CallEnded("no answer")]
        if line.startswith("+CLCC:"):
            return self._clcc(line)
        if line.startswith("+COLP:"):
            return [CallConnected()]  # with AT+COLP=1: the dialled party answered
        if line.startswith("+CMTI:"):
            parts = fields(after(line, "+CMTI:"))
            if len(parts) == 2 and parts[1].isdigit():
                return [NewSms(parts[0], int(parts[1]))]
            return []
        if line.startswith("+CREG:"):
            stat = registration_stat(after(line, "+CREG:"))
            return [] if stat is None else [Registration(stat)]
        if line.endswith("POWER DOWN"):
            return [PowerDown(line.lower())]
        if line.startswith("+CPIN:"):
            return [SimStatus(after(line, "+CPIN:"))]
        if line.startswith("+CUSD:"):
            return [parse_cusd(line)]
        return []

    def _clcc(self, line: str) -> list[Happening]:
        """+CLCC: <id>,<dir>,<stat>,<mode>,... as a report (AT+CLCC=1): stat 0 active, 6 disconnected."""
        parts = fields(after(line, "+CLCC:"))
        if len(parts) < 4 or parts[3] != "0":
            return []  # not a voice call
        if parts[2] == "0":
            return [CallConnected()]
        if parts[2] == "6":
            return [CallEnded("caller hung up")]
        return []


def parse_cusd(line: str) -> UssdReply:
    """+CUSD: <m>[,<str>,<dcs>]"""
    parts = fields(after(line, "+CUSD:"))
    status = int(parts[0]) if parts and parts[0].isdigit() else 4
    text = parts[1] if len(parts) > 1 else None
    dcs = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 15
    return UssdReply(status, text, dcs)
