"""[[alerts]] rules and the [smtp] relay they send e-mail through (docs/alerts.md).

A rule names one event, who hears of it (users by role, phone numbers, e-mail addresses) and how (sms or
email), with quiet hours, a rate limit and a digest. The relay's password is not in the document (every
revision of the document is kept and shown to admins): it is the file data/smtp-password (0600), like the
box's other secrets.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any

from appliance.core.lean import lean

from ..core.problems import Problem

EVENTS = ("voicemail", "abandoned", "callback_due", "line_down", "line_up", "low_balance", "disk_low",
          "service_level", "emergency_on", "box_offline", "sibling_line_down")
CHANNELS = ("sms", "email")
ROLES = ("admin", "supervisor", "operator")
SECURITY = ("starttls", "tls", "none")
RULE_KEYS = ("event", "recipients", "channel", "quiet_hours", "rate_limit", "digest", "attach_audio", "threshold")
SMTP_KEYS = ("host", "port", "security", "username", "sender", "ca_file", "timeout")
PASSWORD_FILE = "smtp-password"

_EMAIL = re.compile(r"[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_PHONE = re.compile(r"\+?[0-9]{3,20}")
_HOURS = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])")


@lean(frozen=True)
class AlertRule:
    event: str
    channel: str
    roles: tuple[str, ...] = ()  # every web user with this role who left a phone (sms) or e-mail (email)
    numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    quiet_hours: tuple[time, time] | None = None  # held through these (box's time zone), sent as one digest after
    rate_limit: int = 0  # at most this many messages an hour per recipient (0: no limit); the rest wait, gathered
    digest: int = 0  # minutes: gather this rule's alerts and send them as one message every so often (0: at once)
    attach_audio: bool = True  # a voicemail's audio with the e-mail, where the privacy mode lets it leave the box
    threshold: float | None = None  # low_balance: below this amount

    def quiet_at(self, clock_time: time) -> bool:
        if self.quiet_hours is None:
            return False
        start, end = self.quiet_hours
        return start <= clock_time < end if start < end else clock_time >= start or clock_time < end


@lean(frozen=True)
class Smtp:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls (587), tls (465), none (a relay on this box only)
    username: str | None = None
    sender: str = "hotline@localhost"
    ca_file: str | None = None  # a LAN relay's own certificate or CA (PEM); the system's CAs otherwise
    timeout: float = 30.0


@lean(frozen=True)
class Alerts:
    rules: tuple[AlertRule, ...] = ()
    smtp: Smtp | None = None

    def wanted(self, event: str) -> list[tuple[int, AlertRule]]:
        return [(i, rule) for i, rule in enumerate(self.rules) if rule.event == event]


def parse_alerts(document: dict[str, Any], problems: list[Problem]) -> Alerts:
    smtp = _smtp(document.get("smtp"), problems)
    raw = document.get("alerts", [])
    if not isinstance(raw, list):
        problems.append(Problem("alerts", "must be a list of [[alerts]] tables"))
        return Alerts((), smtp)
    rules = []
    for i, spec in enumerate(raw):
        where = f"alerts[{i}]"
        if not isinstance(spec, dict):
            problems.append(Problem(where, "must be a table with event, recipients and channel"))
            continue
        before = len(problems)
        rule = _rule(spec, where, problems)
        if len(problems) == before:
            if rule.channel == "email" and smtp is None:
                problems.append(Problem(f"{where}.channel", "e-mail alerts need an [smtp] relay (host, port ...)"))
            else:
                rules.append(rule)
    return Alerts(tuple(rules), smtp)


def _rule(spec: dict[str, Any], where: str, problems: list[Problem]) -> AlertRule:
    event, channel = spec.get("event"), spec.get("channel", "email")
    if event not in EVENTS:
        problems.append(Problem(f"{where}.event", f"{event!r} is not one of {', '.join(EVENTS)}"))
    if channel not in CHANNELS:
        problems.append(Problem(f"{where}.channel", f"{channel!r} is not one of {', '.join(CHANNELS)}"))
    roles, numbers, emails = _recipients(spec.get("recipients"), f"{where}.recipients", channel, problems)
    quiet = None
    if "quiet_hours" in spec:
        match = _HOURS.fullmatch(str(spec["quiet_hours"]))
        if match is None or match.group(1, 2) == match.group(3, 4):
            problems.append(Problem(f"{where}.quiet_hours", f"{spec['quiet_hours']!r} is not a span like "
                                    '"22:00-07:00"'))
        else:
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            quiet = (time(h1, m1), time(h2, m2))
    counts = {}
    for key, top in (("rate_limit", 1000), ("digest", 24 * 60)):
        value = spec.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            problems.append(Problem(f"{where}.{key}", f"must be a whole number from 0 to {top}, not {value!r}"))
            value = 0
        counts[key] = value
    attach = spec.get("attach_audio", True)
    if not isinstance(attach, bool):
        problems.append(Problem(f"{where}.attach_audio", "must be true or false"))
    threshold = spec.get("threshold")
    if event == "low_balance" and (isinstance(threshold, bool) or not isinstance(threshold, int | float)):
        problems.append(Problem(f"{where}.threshold", "low_balance needs threshold = the amount below which the "
                                "SIM's balance is low (e.g. 50)"))
    elif threshold is not None and event != "low_balance":
        problems.append(Problem(f"{where}.threshold", "only a low_balance rule has a threshold"))
    return AlertRule(str(event), str(channel), roles, numbers, emails, quiet, counts["rate_limit"], counts["digest"],
                     bool(attach), float(threshold) if isinstance(threshold, int | float) else None)


def _recipients(raw: object, where: str, channel: object,
                problems: list[Problem]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    if not isinstance(raw, list) or not raw or not all(isinstance(r, str) for r in raw):
        problems.append(Problem(where, 'must be a list like ["role:admin", "+79161234567", "duty@example.org"]'))
        return (), (), ()
    roles, numbers, emails = [], [], []
    for entry in raw:
        if entry.startswith("role:") and entry[5:] in ROLES:
            roles.append(entry[5:])
        elif _PHONE.fullmatch(entry):
            numbers.append(entry)
        elif _EMAIL.fullmatch(entry):
            emails.append(entry)
        else:
            problems.append(Problem(where, f"{entry!r} is not a role ({', '.join('role:' + r for r in ROLES)}), "
                                    "a phone number or an e-mail address"))
    if channel == "sms" and emails:
        problems.append(Problem(where, f"{emails[0]!r}: an SMS rule sends to phone numbers, not e-mail addresses"))
    if channel == "email" and numbers:
        problems.append(Problem(where, f"{numbers[0]!r}: an e-mail rule sends to e-mail addresses, not numbers"))
    return tuple(roles), tuple(numbers), tuple(emails)


def _smtp(raw: object, problems: list[Problem]) -> Smtp | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("host"), str) or not raw["host"].strip():
        problems.append(Problem("smtp.host", "the relay's host name is needed"))
        return None
    port, security = raw.get("port", 587), raw.get("security", "starttls")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        problems.append(Problem("smtp.port", f"must be a port number from 1 to 65535, not {port!r}"))
    if security not in SECURITY:
        problems.append(Problem("smtp.security", f"{security!r} is not one of {', '.join(SECURITY)}"))
    sender = raw.get("sender", Smtp.sender)
    if not isinstance(sender, str) or not (_EMAIL.fullmatch(sender) or sender.endswith("@localhost")):
        problems.append(Problem("smtp.sender", f"{sender!r} is not an e-mail address"))
    timeout = raw.get("timeout", Smtp.timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= 300:
        problems.append(Problem("smtp.timeout", "must be seconds from 1 to 300"))
    for key in ("username", "ca_file"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(Problem(f"smtp.{key}", "must be a string"))
    if any(p.field.startswith("smtp.") for p in problems):
        return None
    return Smtp(raw["host"].strip(), port, security, raw.get("username"), sender, raw.get("ca_file"),
                float(timeout))
