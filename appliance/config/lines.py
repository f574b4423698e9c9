"""The [[lines]] tables: one modem and its audio each."""

from __future__ import annotations

import os
import re
from typing import Any

from ..core.problems import Problem
from .forwarding import parse_forwarding
from .model import LineConfig
from .validators import boolean, checked, gpio_pin, identifier, seconds

DIALECTS = ("sim800", "sim7600", "quectel", "huawei", "v253", "auto")
PYSERIAL_SCHEMES = ("loop", "socket", "rfc2217", "spy", "alt", "hwgrep", "cp2110")
BAUDRATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)

def parse_lines(raw: object, simulated: bool, check_devices: bool, problems: list[Problem]) -> list[LineConfig]:
    if not isinstance(raw, list) or not raw:
        problems.append(Problem("lines", "at least one [[lines]] table is needed"))
        return []
    lines: list[LineConfig] = []
    seen: set[str] = set()
    for i, spec in enumerate(raw):
        where = f"lines[{i}]"
        if not isinstance(spec, dict):
            problems.append(Problem(where, "must be a table"))
            continue
        try:
            line_id = identifier(spec.get("id"))
        except ValueError as exc:
            problems.append(Problem(f"{where}.id", str(exc)))
            continue
        if line_id in seen:
            problems.append(Problem(f"{where}.id", f"{line_id!r} is used by another line"))
        seen.add(line_id)
        port = spec.get("port")
        port_problem = _port_problem(port, simulated, check_devices)
        if port_problem:
            problems.append(Problem(f"{where}.port", *port_problem))
        dialect = spec.get("dialect", "auto")
        if dialect not in DIALECTS:
            problems.append(Problem(f"{where}.dialect",
                                    f"unknown dialect {dialect!r}; use one of {', '.join(DIALECTS)}"))
        baudrate = spec.get("baudrate", 115200)
        if baudrate not in BAUDRATES:
            problems.append(Problem(f"{where}.baudrate", f"{baudrate!r} is not a standard rate"))
        rtscts = checked(boolean, spec.get("rtscts", False), f"{where}.rtscts", problems)
        sim_pin = spec.get("sim_pin")
        if sim_pin is not None and not (isinstance(sim_pin, str) and sim_pin.isdigit() and 4 <= len(sim_pin) <= 8):
            problems.append(Problem(f"{where}.sim_pin", "must be a string of 4 to 8 digits"))
        power_pin = None if spec.get("power_pin") is None else \
            checked(gpio_pin, spec["power_pin"], f"{where}.power_pin", problems)
        audio = {}
        for key in ("audio_out", "audio_in"):
            audio[key] = spec.get(key, "default")
            if not isinstance(audio[key], str) or not audio[key]:
                problems.append(Problem(f"{where}.{key}", "must name an ALSA PCM, e.g. plughw:CARD=Device,DEV=0"))
        software_dtmf = checked(boolean, spec.get("software_dtmf", False), f"{where}.software_dtmf", problems)
        ussd = spec.get("ussd_balance")
        if ussd is not None and not (isinstance(ussd, str) and re.fullmatch(r"[*#0-9]{2,20}", ussd)):
            problems.append(Problem(f"{where}.ussd_balance", f"{ussd!r} is not a USSD code like \"*100#\""))
            ussd = None
        ussd_period = _seconds(spec, "ussd_period", (600, 30 * 86400), where, problems)
        dial_timeout = _seconds(spec, "dial_timeout", (10, 300), where, problems)
        answering = _answering(spec, where, problems)
        answering.update(_line_audio(spec, where, str(dialect), simulated, check_devices, problems))
        answering.update(parse_forwarding(spec, where, str(dialect), problems))
        lines.append(LineConfig(
            line_id, str(port), str(dialect), int(baudrate) if isinstance(baudrate, int) else 0, rtscts is True,
            sim_pin, power_pin, str(audio["audio_out"]), str(audio["audio_in"]), software_dtmf is True, ussd,
            ussd_period=LineConfig.ussd_period if ussd_period is None else ussd_period,
            dial_timeout=LineConfig.dial_timeout if dial_timeout is None else dial_timeout, **answering))
    return lines


def _seconds(spec: dict[str, Any], key: str, limits: tuple[float, float], where: str,
             problems: list[Problem]) -> float | None:
    """An optional number of seconds of a line; None when it is left out (or wrong: then a problem says so)."""
    if key not in spec:
        return None
    return checked(seconds, spec[key], f"{where}.{key}", problems, *limits)


LINE_AUDIO = ("alsa", "serial", "uac")
# families with a USB voice path, per line audio (docs/modems.md "Line audio"); auto is checked once detected
USB_VOICE_DIALECTS = {"serial": ("huawei", "sim7600", "quectel", "auto"), "uac": ("quectel", "auto")}


def _line_audio(spec: dict[str, Any], where: str, dialect: str, simulated: bool, check_devices: bool,
                problems: list[Problem]) -> dict[str, Any]:
    """audio and audio_port of one [[lines]] table: which path carries the call's voice."""
    audio = spec.get("audio", "alsa")
    if audio not in LINE_AUDIO:
        problems.append(Problem(f"{where}.audio", f"{audio!r}: use \"alsa\" (a sound card), \"serial\" (the modem's "
                                                  "USB voice port) or \"uac\" (the modem's USB sound card)"))
        return {}
    port = spec.get("audio_port")
    if audio in USB_VOICE_DIALECTS and dialect not in USB_VOICE_DIALECTS[audio] and dialect in DIALECTS:
        problems.append(Problem(f"{where}.audio", f"a {dialect} modem has no {audio} voice path; "
                                                  f"{audio} needs {', '.join(USB_VOICE_DIALECTS[audio][:-1])}"))
    if audio != "serial":
        if port is not None:
            problems.append(Problem(f"{where}.audio_port", f"only used with audio = \"serial\" (this line: {audio})",
                                    "warning"))
        return {"audio": audio}
    if port is None:
        problems.append(Problem(f"{where}.audio_port", "audio = \"serial\" needs the modem's voice port, "
                                                       "e.g. /dev/hotline/gsm1-audio (docs/modems.md)"))
        return {"audio": audio}
    port_problem = _port_problem(port, simulated, check_devices)
    if port_problem:
        problems.append(Problem(f"{where}.audio_port", *port_problem))
    elif port == spec.get("port"):
        problems.append(Problem(f"{where}.audio_port", f"{port} is the line's AT port; the voice port is another "
                                                       "of the modem's USB ports (docs/modems.md)"))
    return {"audio": audio, "audio_port": str(port)}


def _answering(spec: dict[str, Any], where: str, problems: list[Problem]) -> dict[str, Any]:
    """call_waiting and answer_after_rings of one [[lines]] table (docs/modems.md)."""
    found: dict[str, Any] = {}
    waiting = spec.get("call_waiting", "reject")
    if waiting in ("reject", "off"):
        found["call_waiting"] = waiting
    else:
        problems.append(Problem(f"{where}.call_waiting", f"{waiting!r}: use \"reject\" (a second caller hears busy) "
                                                         "or \"off\" (the network's call waiting switched off)"))
    rings = spec.get("answer_after_rings")
    if rings is None:
        return found
    if isinstance(rings, bool) or not isinstance(rings, int) or not 1 <= rings <= 10:
        problems.append(Problem(f"{where}.answer_after_rings", f"{rings!r}: a whole number of rings from 1 to 10 "
                                                               "(2 on a landline, so caller ID arrives first)"))
    else:
        found["answer_after_rings"] = rings
    return found


def _port_problem(port: object, simulated: bool, check_devices: bool) -> tuple[str, str] | None:
    if not isinstance(port, str) or not port:
        return ("must name a serial device (/dev/ttyUSB2, /dev/serial/by-id/...) or a pyserial URL", "error")
    if "://" in port:
        scheme = port.split("://", 1)[0]
        if scheme == "sim":
            # The built-in config ships with simulated ports: a fresh box starts with the line down, not a crash loop.
            return None if simulated else ("sim:// ports only exist under `hotline simulate`: this line stays down "
                                           "until port names the modem", "warning")
        if scheme not in PYSERIAL_SCHEMES:
            return (f"unknown URL scheme {scheme!r}; pyserial knows {', '.join(PYSERIAL_SCHEMES)}", "error")
        return None
    if not port.startswith("/"):
        return (f"{port!r} is not an absolute device path", "error")
    if check_devices and not os.path.exists(port):
        return (f"{port} does not exist (is the modem plugged in and powered?)", "error")
    return None


