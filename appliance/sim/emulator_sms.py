"""What the emulated modem says about messages: SMS in text and PDU mode (27.005) and USSD (27.007 +CUSD).

A part owned by the emulator's Script: it is given the Script's `send` (write to the host) and `later`
(run after a delay, cancelled with the Script's timers), and shares nothing else with the call side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from appliance.modem import gsm7, sms_pdu


@dataclass
class Stored:
    sender: str
    text: str  # this part's text
    pdu: str  # the SMS-DELIVER PDU, SMSC first
    length: int
    read: bool = False


class Messages:
    def __init__(self, send: Callable[..., None], later: Callable[[float, Callable[[], None]], None]) -> None:
        self._send = send
        self._later = later
        self.charset = "GSM"
        self.sms_mode = "text"  # AT+CMGF=1 text | AT+CMGF=0 pdu
        self.sent_sms: list[tuple[str, str, str]] = []  # text mode: (number, text as typed, charset)
        self.sent_pdus: list[str] = []  # PDU mode: the hex after the prompt
        self.sms_error: str | None = None  # the final result for the next AT+CMGS (e.g. "+CMS ERROR: 38")
        self.inbox: dict[int, Stored] = {}
        self.awaiting_text = False
        self._sms_to = ""
        self._pdu_length = 0
        self._reference = 0
        self.ussd_reply = "Balance: 100.00 r"
        self.ussd_format = "text"  # text | packed (GSM-7 packed in hex) | ucs2 (dcs 72)
        self.ussd_ucs2 = False  # shorthand for ussd_format = "ucs2"
        self.ussd_open = False  # the network leaves the session open (+CUSD: 1,...)
        self.ussd_codes: list[str] = []
        self.ussd_cancelled = 0

    def deliver_sms(self, sender: str, text: str, *, notify: bool = True) -> int:
        """A message arrives (in as many parts as it needs); `notify=False` stores it silently, as while
        the box was off. Returns the first part's index."""
        self._reference = (self._reference + 1) & 0xFF
        first = 0
        for pdu, part in zip(sms_pdu.deliver_pdus(sender, text, self._reference, time.time()),
                             sms_pdu.split(text)[1], strict=True):
            index = max(self.inbox, default=0) + 1
            first = first or index
            self.inbox[index] = Stored(sender, part, pdu.hex, pdu.length)
            if notify:
                self._send(f'+CMTI: "SM",{index}')
        return first

    def text_entered(self, text: str) -> None:
        self.awaiting_text = False
        if self.sms_mode == "pdu":
            try:
                data = bytes.fromhex(text.strip())
            except ValueError:
                self._send("+CMS ERROR: 304")
                return
            if len(data) - 1 - data[0] != self._pdu_length:
                self._send("+CMS ERROR: 304")  # invalid PDU mode parameter: the length does not match
                return
            self.sent_pdus.append(text.strip())
        else:
            self.sent_sms.append((self._sms_to, text, self.charset))
        if self.sms_error:
            self._send(self.sms_error)
            return
        self._send(f"+CMGS: {len(self.sent_sms) + len(self.sent_pdus)}", "OK")

    def reply(self, line: str, cmd: str) -> tuple[str, ...] | None:
        """The reply to a message command; None when `cmd` is not one (or the reply is the > prompt)."""
        if cmd.startswith("AT+CMGF="):
            self.sms_mode = "pdu" if line[8:].strip() == "0" else "text"
            return ("OK",)
        if cmd.startswith('AT+CSCS="'):
            self.charset = line[9:].rstrip('"').upper()
            return ("OK",)
        if cmd.startswith("AT+CMGS="):
            arg = line[8:]
            if self.sms_mode == "pdu":
                if not arg.isdigit():
                    return ("+CMS ERROR: 304",)
                self._pdu_length = int(arg)
            else:
                self._sms_to = arg.split(",")[0].strip('"')
            self.awaiting_text = True
            self._send(raw=b"\r\n> ")
            return ()
        if cmd.startswith("AT+CMGR="):
            return self._read_sms(line[8:])
        if cmd.startswith("AT+CMGL"):
            return self._list_sms()
        if cmd.startswith("AT+CMGD="):
            self.inbox.pop(int(line[8:].split(",")[0]), None)
            return ("OK",)
        if cmd.startswith("AT+CUSD=1,"):
            return self._ussd(line)
        if cmd.startswith("AT+CUSD=2"):
            self.ussd_cancelled += 1
            return ("OK",)
        return None

    def _read_sms(self, arg: str) -> tuple[str, ...]:
        index = int(arg.split(",")[0])
        if index not in self.inbox:
            return ("+CMS ERROR: 321",)
        stored = self.inbox[index]
        was_read, stored.read = stored.read, True
        if self.sms_mode == "pdu":
            return (f"+CMGR: {int(was_read)},,{stored.length}", stored.pdu, "OK")
        sender, text = stored.sender, stored.text
        if self.charset == "UCS2":
            sender, text = gsm7.ucs2_hex(sender), gsm7.ucs2_hex(text)
        status = "REC READ" if was_read else "REC UNREAD"
        return (f'+CMGR: "{status}","{sender}","","24/05/01,10:00:00+12"', text, "OK")

    def _list_sms(self) -> tuple[str, ...]:
        out: list[str] = []
        for index, stored in sorted(self.inbox.items()):
            if stored.read:
                continue
            stored.read = True
            if self.sms_mode == "pdu":
                out += [f"+CMGL: {index},0,,{stored.length}", stored.pdu]
            else:
                out += [f'+CMGL: {index},"REC UNREAD","{stored.sender}",,"24/05/01,10:00:00+12"', stored.text]
        return (*out, "OK")

    def _ussd(self, line: str) -> tuple[str, ...]:
        self.ussd_codes.append(line[10:].split(",")[0].strip('"'))
        shape = "ucs2" if self.ussd_ucs2 else self.ussd_format
        if shape == "ucs2":
            text, dcs = gsm7.ucs2_hex(self.ussd_reply), 72
        elif shape == "packed":
            text, dcs = gsm7.pack(gsm7.to_septets(self.ussd_reply) or []).hex().upper(), 15
        else:
            text, dcs = self.ussd_reply, 15
        status = 1 if self.ussd_open else 0
        self._later(0.1, lambda: self._send(f'+CUSD: {status},"{text}",{dcs}'))
        return ("OK",)
