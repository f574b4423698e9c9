"""The network's conditional call forwarding of a line (3GPP TS 27.007 +CCFC), set from the config and read back.

At each start of the line the box registers forwarding to the sibling's number for each wanted condition, erases
the others, then asks the network what is in force: the line's status shows that answer (the line page,
`hotline check --hardware`), and a condition not as configured is a warning an admin sees.

    AT+CCFC=<reason>,<mode>[,<number>[,<type>[,<class>[,<subaddr>[,<satype>[,<time>]]]]]]
    reason 1 busy, 2 no reply, 3 not reachable; mode 2 query, 3 registration, 4 erasure; class 1 voice;
    a query answers +CCFC: <status>,<class>[,<number>,<type>[,<subaddr>,<satype>[,<time>]]] per class.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from appliance.modem.at import Reply
from appliance.modem.dialects.base import fields

log = logging.getLogger(__name__)

REASONS = {"busy": 1, "no_reply": 2, "not_reachable": 3}
VOICE = 1  # <class> bit 1: voice
NETWORK_TIMEOUT = 30.0  # a supplementary-service request waits on the network
REPORT_FORWARDED = "AT+CSSN=0,1"  # 27.007: +CSSI off, +CSSU on (code 0: this call was forwarded)


def number_type(number: str) -> int:
    """27.007 <type>: 145 international (a leading +), 129 otherwise."""
    return 145 if number.startswith("+") else 129


def read_forwarding(reply: Reply) -> tuple[bool, str | None, int | None]:
    """(active, number, seconds) for voice calls from a +CCFC query's reply."""
    for line in reply.lines:
        if not line.startswith("+CCFC:"):
            continue
        parts = fields(line.removeprefix("+CCFC:").strip())
        if len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit() or not int(parts[1]) & VOICE:
            continue
        if parts[0] != "1":
            return False, None, None
        number = parts[2] if len(parts) > 2 and parts[2] else None
        seconds = int(parts[6]) if len(parts) > 6 and parts[6].isdigit() else None
        return True, number, seconds
    return False, None, None


def query_forwarding(command: Callable[..., Reply]) -> dict[str, dict] | str:
    """What the network has in force for each condition, or why it could not be asked."""
    found: dict[str, dict] = {}
    for condition, reason in REASONS.items():
        reply = command(f"AT+CCFC={reason},2", timeout=NETWORK_TIMEOUT, expect="+CCFC:")
        if not reply.ok:
            return f"the network did not answer the forwarding query: {reply.final}"
        active, number, seconds = read_forwarding(reply)
        found[condition] = {"active": active, "number": number, "seconds": seconds}
    return found


class CallForwarding:
    """A part of the line (line.py): `apply()` queues the setting and the read-back on the line's worker."""

    def __init__(self, line_id: str, *, number: str | None, conditions: tuple[str, ...], after: int,
                 command: Callable[..., Reply], later: Callable[[Callable[[], None]], None]) -> None:
        self.line_id = line_id
        self.number = number
        self.conditions = conditions
        self.after = after
        self._command = command
        self._later = later
        self._lock = threading.Lock()
        self._in_force: dict[str, dict] | None = None
        self._error: str | None = None

    def listen(self, cmd: Callable[..., Reply]) -> None:
        """At initialisation (`cmd`: the set-up's command): every GSM line hears when a call reaches it forwarded
        (+CSSU: 0), so a sibling's overflow is recorded as such. A modem that refuses goes on without it."""
        if not cmd(REPORT_FORWARDED).ok:
            log.info("line %s: %s refused: forwarded calls are not marked", self.line_id, REPORT_FORWARDED)

    def apply(self) -> None:
        if self.number is not None:
            self._later(self._set_and_read)

    def _set_and_read(self) -> None:
        number = self.number
        assert number is not None
        error = None
        for condition, reason in REASONS.items():
            if condition in self.conditions:
                time = f",{VOICE},,,{self.after}" if condition == "no_reply" else f",{VOICE}"
                text = f'AT+CCFC={reason},3,"{number}",{number_type(number)}{time}'
            else:
                text = f"AT+CCFC={reason},4"  # a condition not wanted must not linger from an earlier setting
            reply = self._command(text, timeout=NETWORK_TIMEOUT)
            if not reply.ok and condition in self.conditions:
                error = f"the network refused forwarding on {condition.replace('_', ' ')}: {reply.final}"
        found = query_forwarding(self._command)
        with self._lock:
            if isinstance(found, str):
                self._in_force, self._error = None, error or found
            else:
                self._in_force, self._error = found, error
        if self._error or self.problem():
            log.warning("line %s: call forwarding: %s", self.line_id, self._error or self.problem())

    def problem(self) -> str | None:
        """Why forwarding is not as configured (None: it is, or it was not asked for or not yet read)."""
        with self._lock:
            in_force, error = self._in_force, self._error
        if self.number is None:
            return None
        if error:
            return error
        if in_force is None:
            return None
        wrong = [c.replace("_", " ") for c in self.conditions
                 if not in_force[c]["active"] or _digits(in_force[c]["number"]) != _digits(self.number)]
        return f"call forwarding to {self.number} is not in force on {', '.join(wrong)}" if wrong else None

    def status(self) -> dict | None:
        """For the line's status: what was asked for and what the network said (None: nothing asked)."""
        if self.number is None:
            return None
        with self._lock:
            in_force = self._in_force
        return {"to": self.number, "on": list(self.conditions), "after": self.after, "in_force": in_force,
                "problem": self.problem()}


def _digits(number: str | None) -> str:
    """A number as the network may give it back (without +, with a national prefix): its last 10 digits."""
    return "".join(ch for ch in number or "" if ch.isdigit())[-10:]
