"""SMS on a line: sending (text mode when it can, PDU mode when it must) and receiving.

Sending: a text that fits the GSM 03.38 alphabet goes in text mode with AT+CSCS="GSM", anything
else with AT+CSCS="UCS2" (number and text hex-encoded); a message longer than one part, or one
with characters text mode cannot carry between the prompt and Ctrl-Z (@, $, the extension table,
line ends), goes as SMS-SUBMIT PDUs with a concatenation header.

Receiving: +CMTI -> AT+CMGR in PDU mode -> SmsReceived -> AT+CMGD; unread messages stored while the
box was off are read at start with AT+CMGL. Parts of a long message are joined before posting.
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable

from appliance.core.events import SmsReceived, SmsResult
from appliance.modem import gsm7, sms_pdu
from appliance.modem.at import Reply
from appliance.modem.dialects.base import fields
from appliance.records.privacy import appear

log = logging.getLogger(__name__)

SEND_TIMEOUT = 60.0  # AT+CMGS waits for the network; SIMCom and Quectel allow up to 60 s
NUMBER = re.compile(r"\+?[0-9]{1,20}")
MAX_PARTIAL = 32  # long messages waiting for their missing parts; older ones are posted as they are

Command = Callable[..., Reply]


def check_number(number: str, what: str) -> str:
    if not isinstance(number, str) or not NUMBER.fullmatch(number):
        raise ValueError(f"bad {what} number {number!r}: digits with an optional leading +")
    return number


def check_text(text: str) -> str:
    if not isinstance(text, str) or not text:
        raise ValueError(f"bad SMS text {text!r}: it must not be empty")
    parts = len(sms_pdu.split(text)[1])
    if parts > 255:
        raise ValueError(f"SMS text too long: {parts} parts, at most 255")
    return text


def text_mode_payload(text: str) -> str | None:
    """The text as typed at the > prompt with AT+CSCS="GSM", or None when text mode cannot carry it:
    it needs two parts, or has characters whose GSM codes are control bytes (@, $, the escape...)."""
    septets = gsm7.to_septets(text)
    if septets is None or len(septets) > sms_pdu.SINGLE["gsm7"]:
        return None
    if any(not 0x20 <= s < 0x80 for s in septets):
        return None
    return "".join(chr(s) for s in septets)  # GSM codes in the printable range travel as those bytes


class Sms:
    def __init__(self, line_id: str, *, post: Callable[[object], None], command: Command) -> None:
        self.line_id = line_id
        self._post = post
        self._command = command
        self._reference = int(time.time()) & 0xFF
        self._partial: OrderedDict[tuple, dict[int, str]] = OrderedDict()
        self.sent = 0
        self.received = 0

    # --- sending -------------------------------------------------------------------------

    def send(self, number: str, text: str) -> None:
        """Runs on the worker; the outcome is posted as SmsResult."""
        reason = self._send(number, text)
        if reason is None:
            self.sent += 1
        else:
            log.warning("line %s: SMS to %s not sent: %s", self.line_id, appear(number, "log"), reason)
        self._post(SmsResult(self.line_id, number, reason is None, reason))

    def _send(self, number: str, text: str) -> str | None:
        encoding, parts = sms_pdu.split(text)
        payload = text_mode_payload(text)
        if payload is not None:
            return self._text_mode(number, payload, "GSM", 0)
        if encoding == "ucs2" and len(parts) == 1 and "\r" not in text and "\n" not in text:
            return self._text_mode(gsm7.ucs2_hex(number), gsm7.ucs2_hex(text), "UCS2", 8)
        return self._pdu_mode(number, text)

    def _text_mode(self, number: str, payload: str, charset: str, dcs: int) -> str | None:
        for setting in ("AT+CMGF=1", f'AT+CSCS="{charset}"', f"AT+CSMP=17,{sms_pdu.VALIDITY_24H},0,{dcs}"):
            reply = self._command(setting)
            if not reply.ok:
                return f"the modem refused {setting}: {reply.final}"
        try:
            reply = self._command(f'AT+CMGS="{number}"', timeout=SEND_TIMEOUT, payload=payload)
        finally:
            if charset != "GSM":
                self._command('AT+CSCS="GSM"')
        return None if reply.ok else f"the modem refused the message: {reply.final}"

    def _pdu_mode(self, number: str, text: str) -> str | None:
        self._reference = (self._reference + 1) & 0xFF
        pdus = sms_pdu.submit_pdus(number, text, self._reference)
        reply = self._command("AT+CMGF=0")
        if not reply.ok:
            return f"the modem refused PDU mode (AT+CMGF=0): {reply.final}"
        try:
            for seq, pdu in enumerate(pdus, 1):
                reply = self._command(f"AT+CMGS={pdu.length}", timeout=SEND_TIMEOUT, payload=pdu.hex)
                if not reply.ok:
                    return f"the modem refused part {seq} of {len(pdus)}: {reply.final}"
        finally:
            self._command("AT+CMGF=1")
        return None

    # --- receiving -----------------------------------------------------------------------

    def fetch(self, index: int) -> None:
        """Read message `index` (from +CMTI), post it, delete it."""
        if not self._command("AT+CMGF=0").ok:
            self._fetch_text_mode(index)
            return
        try:
            reply = self._command(f"AT+CMGR={index}", timeout=10.0)
        finally:
            self._command("AT+CMGF=1")
        pdu = next((ln for ln in reply.lines if gsm7.is_hex(ln)), None) if reply.ok else None
        if pdu is None:
            log.warning("line %s: SMS %d could not be read: %s", self.line_id, index, reply.final)
            return
        self._take(pdu)
        self._command(f"AT+CMGD={index}")

    def fetch_stored(self) -> None:
        """Unread messages that arrived while nobody listened (box off, line down)."""
        if not self._command("AT+CMGF=0").ok:
            return
        try:
            reply = self._command("AT+CMGL=0", timeout=20.0)
        finally:
            self._command("AT+CMGF=1")
        if not reply.ok:
            return
        index = None
        for line in reply.lines:
            if line.startswith("+CMGL:"):
                parts = fields(line.removeprefix("+CMGL:"))
                index = int(parts[0]) if parts and parts[0].isdigit() else None
            elif index is not None and gsm7.is_hex(line):
                self._take(line)
                self._command(f"AT+CMGD={index}")
                index = None

    def _fetch_text_mode(self, index: int) -> None:
        """For a modem without PDU mode: the UCS2 character set keeps any alphabet intact."""
        self._command('AT+CSCS="UCS2"')
        try:
            reply = self._command(f"AT+CMGR={index}", timeout=10.0)
        finally:
            self._command('AT+CSCS="GSM"')
        header = reply.value("+CMGR:") if reply.ok else None
        if header is None:
            return
        parts = fields(header)
        body = "\n".join(ln for ln in reply.lines if not ln.startswith("+CMGR:"))
        sender = _unhex(parts[1]) if len(parts) > 1 else None
        sent_at = _text_mode_time(parts[3]) if len(parts) > 3 else None
        self._deliver(sender or None, _unhex(body), sent_at)
        self._command(f"AT+CMGD={index}")

    def _take(self, pdu: str) -> None:
        try:
            message = sms_pdu.decode(pdu)
        except ValueError as exc:
            log.warning("line %s: stored SMS skipped: %s", self.line_id, exc)
            return
        if message.part is None or message.part[1] <= 1:
            self._deliver(message.number, message.text, message.sent_at)
            return
        reference, total, seq = message.part
        key = (message.number, reference, total)
        parts = self._partial.setdefault(key, {})
        parts[seq] = message.text
        if len(parts) == total:
            del self._partial[key]
            self._deliver(message.number, "".join(parts[i] for i in sorted(parts)), message.sent_at)
        elif len(self._partial) > MAX_PARTIAL:
            (number, _, _), oldest = self._partial.popitem(last=False)
            self._deliver(number, "".join(oldest[i] for i in sorted(oldest)), None)

    def _deliver(self, sender: str | None, text: str, sent_at: float | None) -> None:
        self.received += 1
        self._post(SmsReceived(self.line_id, sender, text, sent_at if sent_at is not None else time.time()))


def _unhex(text: str) -> str:
    return gsm7.from_ucs2_hex(text) if gsm7.is_hex(text) and len(text) % 4 == 0 else text


def _text_mode_time(stamp: str) -> float | None:
    """"24/05/01,10:00:00+12" (local time, zone in quarter hours) -> UTC seconds."""
    match = re.fullmatch(r"(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d+)?", stamp)
    if not match:
        return None
    import calendar  # loaded with the first text: a box that gets none never holds it

    y, mo, d, h, mi, s = (int(g) for g in match.groups()[:6])
    zone = int(match.group(7) or 0) * 15 * 60
    return calendar.timegm((2000 + y, mo, d, h, mi, s, 0, 0, 0)) - zone
