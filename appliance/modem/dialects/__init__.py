"""Modem families by name, and `auto` detection from what the modem says about itself.

A family's module is imported when a line is made with its name or `auto` finds it (at the start or a
reconfigure, never in a call): a box holds only its own modems' dialects.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from appliance.modem.at import Reply
from appliance.modem.dialects.base import Dialect

# name: its class, in the module appliance.modem.dialects.<name>
DIALECTS: dict[str, str] = {"sim800": "Sim800", "sim7600": "Sim7600", "quectel": "Quectel", "huawei": "Huawei",
                            "v253": "V253"}


def dialect_named(name: str) -> Dialect:
    if name not in DIALECTS:
        known = ", ".join(sorted(DIALECTS) + ["auto"])
        raise ValueError(f"unknown modem dialect {name!r} (known: {known})")
    family: type[Dialect] = getattr(importlib.import_module(f"{__name__}.{name}"), DIALECTS[name])
    return family()


def detect(identity: str) -> str | None:
    """The dialect for the text of ATI / AT+CGMI / AT+CGMM, or None when it names no family we know."""
    text = identity.upper()
    if any(m in text for m in ("SIM7600", "SIM7500", "SIM7000", "A7670", "A7672", "A76", "A78")):
        return "sim7600"
    if "SIMCOM" in text or "SIM800" in text or "SIM900" in text:
        return "sim800"
    if "QUECTEL" in text or any(m in text for m in ("EC25", "EC21", "EG25", "UC20", "EC200")):
        return "quectel"
    if "HUAWEI" in text or any(m in text for m in ("E1550", "E173", "E1752")):
        return "huawei"
    return None


def identify(command: Callable[..., Reply]) -> tuple[Dialect, str]:
    """Ask the modem who it is (ATI, AT+CGMI, AT+CGMM, then AT+FCLASS=? for voice class 8): its dialect
    (plain 27.007 when unknown) and what it said."""
    said = []
    for text in ("ATI", "AT+CGMI", "AT+CGMM"):
        reply = command(text)
        if reply.ok:
            said.extend(reply.lines)
    name = detect(" ".join(said))
    if name is None:
        reply = command("AT+FCLASS=?")
        name = "v253" if reply.ok and "8" in ",".join(reply.lines).split(",") else None
    return (dialect_named(name) if name else Dialect()), " ".join(said)


__all__ = ["DIALECTS", "Dialect", "detect", "dialect_named", "identify"]
