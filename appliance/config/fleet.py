"""The [fleet] table: the MQTT broker several boxes share their status through (docs/fleet.md).

Without the table the box stays alone and the MQTT client is never imported.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

from appliance.core.lean import lean

from ..core.problems import Problem
from .validators import boolean, checked, identifier, number, seconds

SCHEMES = {"mqtts": 8883, "mqtt": 1883}
# A plain broker on the box itself is reached over loopback only: nothing crosses a network in clear.
LOOPBACK = ("127.0.0.1", "localhost", "::1")
PHONE = re.compile(r"\+?[0-9]{3,20}")


@lean(frozen=True)
class FleetConfig:
    box: str  # this box's name in the topics: hotline/<box>/...
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None  # the CA that signed the broker's certificate; None: the system's CAs
    keepalive: float = 30.0  # seconds: the broker declares a silent box offline after 1.5 times this
    share_callers: bool = False  # events carry the caller as the privacy setting shows it (never by default)
    queue: int = 1000  # events kept while the broker is away, oldest dropped first
    # This box's own numbers, published in its status: the first is where siblings move waiting callers to;
    # a call whose caller ID is a sibling's number is a caller that sibling moved here (core/moves.py).
    numbers: tuple[str, ...] = ()
    move_after: float = 0.0  # seconds a caller waits before being moved to a sibling with a free operator; 0 never

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_fleet(document: dict[str, Any], check_devices: bool, problems: list[Problem]) -> FleetConfig | None:
    raw = document.get("fleet")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(Problem("fleet", "must be a table (broker, box, username, password, ca_file)"))
        return None
    found = len(problems)
    box = checked(identifier, raw.get("box"), "fleet.box", problems)
    broker = raw.get("broker")
    host, port, tls = _broker(broker, problems)
    allow_plain = checked(boolean, raw.get("allow_plain", False), "fleet.allow_plain", problems)
    if host is not None and not tls and host not in LOOPBACK and allow_plain is False:
        problems.append(Problem("fleet.broker", f"{broker!r} is plain MQTT to another host: the status and the "
                                "password would cross the network in clear; use mqtts:// (or set allow_plain = "
                                "true for a network you trust)"))
    credentials = {}
    for key in ("username", "password"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            problems.append(Problem(f"fleet.{key}", "must be a non-empty string"))
        credentials[key] = value
    if (credentials["username"] is None) != (credentials["password"] is None):
        problems.append(Problem("fleet.password" if credentials["username"] else "fleet.username",
                                "username and password go together"))
    ca_file = raw.get("ca_file")
    if ca_file is not None:
        if not isinstance(ca_file, str) or not ca_file:
            problems.append(Problem("fleet.ca_file", "must be the path of a PEM file"))
        elif check_devices and not os.path.isfile(ca_file):
            problems.append(Problem("fleet.ca_file", f"{ca_file}: no such file"))
        elif not tls:
            problems.append(Problem("fleet.ca_file", "is for an mqtts:// broker only"))
    keepalive = checked(seconds, raw.get("keepalive", 30), "fleet.keepalive", problems, 1, 600)
    share = checked(boolean, raw.get("share_callers", False), "fleet.share_callers", problems)
    queue = checked(number, raw.get("queue", 1000), "fleet.queue", problems, 0, 100000)
    if queue is not None and not queue.is_integer():
        problems.append(Problem("fleet.queue", "must be a whole number of events"))
    numbers = raw.get("numbers", [])
    if not isinstance(numbers, list) or not all(isinstance(n, str) and PHONE.fullmatch(n) for n in numbers):
        problems.append(Problem("fleet.numbers", f"{numbers!r}: must be a list of this box's phone numbers, "
                                'e.g. ["+79169990002"] (the first is where siblings move callers to)'))
    move_after = checked(seconds, raw.get("move_after", 0), "fleet.move_after", problems, 0, 3600)
    if len(problems) > found or box is None or host is None:
        return None
    return FleetConfig(box=box, host=host, port=port, tls=tls, username=credentials["username"],
                       password=credentials["password"], ca_file=ca_file, keepalive=float(keepalive or 30),
                       share_callers=bool(share), queue=int(queue or 0), numbers=tuple(numbers),
                       move_after=float(move_after or 0))


def _broker(value: object, problems: list[Problem]) -> tuple[str | None, int, bool]:
    """(host, port, tls) of `mqtts://host[:port]`, or None with the problem."""
    if not isinstance(value, str) or not value:
        problems.append(Problem("fleet.broker", 'must be a URL such as "mqtts://broker.example.org:8883"'))
        return None, 0, False
    parts = urlsplit(value)
    if parts.scheme not in SCHEMES:
        problems.append(Problem("fleet.broker", f"{value!r}: the scheme must be mqtts:// or mqtt://"))
        return None, 0, False
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError:
        problems.append(Problem("fleet.broker", f"{value!r}: the port must be a number from 1 to 65535"))
        return None, 0, False
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.username:
        problems.append(Problem("fleet.broker", f"{value!r}: only a host and a port, e.g. mqtts://host:8883 "
                                "(credentials go in username and password)"))
        return None, 0, False
    return parts.hostname, port, parts.scheme == "mqtts"
