"""The SIM's balance by USSD (AT+CUSD), asked every `period` seconds and shown in the line's status.

Modems hand the network's answer over in three shapes for the same dcs: plain text (SIM800 with
AT+CSCS="GSM"), GSM-7 packed into hex (Huawei and many Qualcomm sticks), or UCS-2 hex (dcs 72,
Russian operators' Cyrillic answers). `decode` reads all three.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from appliance.core.lean import lean
from appliance.modem import gsm7
from appliance.modem.at import Reply
from appliance.modem.dialects.base import UssdReply

log = logging.getLogger(__name__)

CODE = re.compile(r"[0-9*#+]{2,30}")
STATUS_WORDS = {2: "the network ended the session", 3: "another client answered", 4: "not supported",
                5: "the network did not answer in time"}


def check_code(code: str) -> str:
    if not isinstance(code, str) or not CODE.fullmatch(code):
        raise ValueError(f"bad USSD code {code!r} for ussd_balance: digits, * and # like *100#")
    return code


def _printable(text: str) -> bool:
    return all(ch.isprintable() or ch in "\r\n" for ch in text)


def decode(text: str, dcs: int) -> str:
    """The words of a +CUSD answer, whichever shape the modem chose."""
    charset = gsm7.cbs_charset(dcs)
    if charset == "ucs2" and gsm7.is_hex(text) and len(text) % 4 == 0:
        return gsm7.from_ucs2_hex(text)
    if charset == "gsm7" and gsm7.is_hex(text) and not text.isdigit():
        data = bytes.fromhex(text)
        septets = gsm7.unpack(data)
        if len(data) * 8 % 7 == 0 and septets and septets[-1] == 0x0D:
            septets = septets[:-1]  # a CR that only pads the last octet (23.038 6.1.2.3.1)
        words = gsm7.from_septets(septets).rstrip("@")  # trailing zero septets are padding too
        if words and _printable(words):
            return words
    return text


_AMOUNT = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?")


@lean(frozen=True)
class BalanceRead:
    """Posted to the daemon each time the balance is read: alerts compare `amount` (the first number in the
    network's words, None if it has none) with their threshold."""

    line: str
    text: str
    amount: float | None


class Balance:
    """`query` runs on the line's worker; `on_reply` on the reader thread; `later` queues worker jobs;
    `post` (the daemon's) hears each reading as a BalanceRead."""

    def __init__(self, code: str, period: float, *, command: Callable[..., Reply],
                 later: Callable[[Callable[[], object]], None], line: str = "",
                 post: Callable[[object], None] | None = None) -> None:
        self.line, self._post = line, post
        self.code = check_code(code)
        self.period = period
        self._command = command
        self._later = later
        self.next_at = 0.0  # time.monotonic() of the next query: the first one right after start
        self.text: str | None = None
        self.read_at: float | None = None
        self.error: str | None = None

    def due(self, now: float) -> float:
        return self.next_at - now

    def query(self) -> None:
        self.next_at = time.monotonic() + self.period
        self._command('AT+CSCS="GSM"')  # the code itself is sent in the TE character set
        reply = self._command(f'AT+CUSD=1,"{self.code}",15', timeout=10.0)
        if not reply.ok:
            self.error = f"the modem refused {self.code}: {reply.final}"
            log.warning("line balance: %s", self.error)

    def on_reply(self, reply: UssdReply) -> None:
        if reply.text is not None and reply.status in (0, 1):
            self.text = decode(reply.text, reply.dcs).strip()
            self.read_at = time.time()
            self.error = None
            if self._post is not None:
                found = _AMOUNT.search(self.text)
                self._post(BalanceRead(self.line, self.text,
                                       float(found.group().replace(",", ".")) if found else None))
        elif reply.status in STATUS_WORDS:
            self.error = STATUS_WORDS[reply.status]
        if reply.status == 1:  # the network waits for more input we will never give: close the session
            self._later(lambda: self._command("AT+CUSD=2"))

    def status(self) -> dict:
        return {"text": self.text, "read_at": self.read_at, "code": self.code, "error": self.error}
