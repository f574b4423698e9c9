"""The configuration document: one TOML file, checked as a whole before anything starts.

Every problem names its field, so `hotline check` can print them all at once
and an admin fixes the file in one go rather than one error per restart.
"""

from __future__ import annotations

import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from ..core.flow import parse_flow
from ..core.problems import Problem
from ..core.schedule import parse_schedule
from ..handsets.cadence import CADENCES
from .keys import unknown_keys
from .model import HANDSET_PINS, LANGUAGES, Config, LineConfig
from .people import parse_people
from .records import parse_records

DIALECTS = ("sim800", "sim7600", "quectel", "huawei", "v253", "auto")
PYSERIAL_SCHEMES = ("loop", "socket", "rfc2217", "spy", "alt", "hwgrep", "cp2110")
BAUDRATES = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_GPIO_NAME = re.compile(r"^(?:GPIO|BCM)(\d+)$", re.IGNORECASE)


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def default_document() -> dict[str, Any]:
    text = resources.files("appliance.config").joinpath("defaults/simulate.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def load(path: str | Path, *, simulated: bool = False, check_devices: bool = True) -> Config:
    """Read and check a config file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([Problem(str(path), "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(path), f"cannot be read: {exc}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(str(path), f"is not valid TOML: {exc}")]) from None
    return parse(document, simulated=simulated, check_devices=check_devices)


def parse(document: dict[str, Any], *, simulated: bool = False, check_devices: bool = True) -> Config:
    config, problems = check(document, simulated=simulated, check_devices=check_devices)
    if config is None:
        raise ConfigError([p for p in problems if p.severity == "error"])
    return config


def check(
    document: dict[str, Any], *, simulated: bool = False, check_devices: bool = True
) -> tuple[Config | None, list[Problem]]:
    """Check the whole document; return the config (None if any error) and every problem found.

    check_devices=False skips looking for device files: an image build or the web editor
    checks a config for a box whose modems are not plugged in here.
    """
    unknown = unknown_keys(document)
    problems: list[Problem] = []
    box = _table(document, "box", problems)
    language = box.get("language", "en")
    if language not in LANGUAGES:
        problems.append(Problem("box.language", f"{language!r} is not one of {', '.join(LANGUAGES)}"))
    cadence = _cadence(_table(document, "ringing", problems), problems)
    lines = _lines(document.get("lines"), simulated, check_devices, problems)
    handsets = _handsets(document.get("handsets"), {line.id for line in lines}, problems)
    _pins_used_once(lines, handsets, problems)
    schedule, schedule_problems = parse_schedule(document.get("schedule"))
    problems += schedule_problems
    prompts = _prompts(_table(document, "prompts", problems), problems)
    flow, flow_problems = parse_flow(document.get("flow"), _flow_prompts(prompts))
    problems += flow_problems
    people = parse_people(document, handsets, set(prompts), schedule.timezone, problems)
    records = parse_records(document, problems)
    skills = {skill for operator in people.operators for skill in operator.skills}
    if flow is not None:
        for node in flow.nodes.values():
            if node.type == "route" and node.skill and node.skill not in skills:
                problems.append(Problem(f"flow.nodes.{node.id}.skill",
                                        f"no handset has the skill {node.skill!r}", "warning"))
    # A key refused as unknown is not reported again by the parser that met it (the flow's "unknown field").
    refused = {p.field for p in unknown}
    problems = [*unknown, *(p for p in problems if p.field not in refused)]
    if any(p.severity == "error" for p in problems) or flow is None:
        return None, problems
    config = Config(
        document=document, name=str(box.get("name", "Hotline")), language=language,
        country=str(box.get("country", "ru")), lines=tuple(lines), handsets=tuple(handsets), cadence=cadence,
        schedule=schedule, prompts=prompts, flow=flow, people=people, records=records, warnings=tuple(problems),
    )
    return config, problems


def _flow_prompts(prompts: dict[str, Any]) -> set[str]:
    """Prompts a flow may name: the configured ones, and the tones the box generates itself."""
    return {*prompts, "tone:ringback", "tone:beep"}


def _table(document: dict[str, Any], key: str, problems: list[Problem]) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        problems.append(Problem(key, "must be a table"))
        return {}
    return value


def _cadence(ringing: dict[str, Any], problems: list[Problem]) -> tuple[float, ...]:
    name = ringing.get("cadence", "ru")
    if name == "custom":
        custom = ringing.get("custom")
        ok = isinstance(custom, list) and custom and len(custom) % 2 == 0 and all(
            isinstance(x, int | float) and not isinstance(x, bool) and 0.05 <= x <= 30 for x in custom)
        if not ok:
            problems.append(Problem("ringing.custom", "needs an even list of on/off seconds between 0.05 and 30"))
            return CADENCES["ru"]
        return tuple(float(x) for x in custom)
    if name not in CADENCES:
        problems.append(Problem("ringing.cadence", f"{name!r} is not one of {', '.join(CADENCES)}, custom"))
        return CADENCES["ru"]
    return CADENCES[name]


def _lines(raw: object, simulated: bool, check_devices: bool, problems: list[Problem]) -> list[LineConfig]:
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
        line_id = spec.get("id")
        if not isinstance(line_id, str) or not _ID.match(line_id):
            problems.append(Problem(f"{where}.id", f"{line_id!r}: use lowercase letters, digits, - and _"))
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
        rtscts = spec.get("rtscts", False)
        if not isinstance(rtscts, bool):
            problems.append(Problem(f"{where}.rtscts", "must be true or false"))
        sim_pin = spec.get("sim_pin")
        if sim_pin is not None and not (isinstance(sim_pin, str) and sim_pin.isdigit() and 4 <= len(sim_pin) <= 8):
            problems.append(Problem(f"{where}.sim_pin", "must be a string of 4 to 8 digits"))
        power_pin = _pin(spec.get("power_pin"), f"{where}.power_pin", problems, optional=True)
        audio = {}
        for key in ("audio_out", "audio_in"):
            audio[key] = spec.get(key, "default")
            if not isinstance(audio[key], str) or not audio[key]:
                problems.append(Problem(f"{where}.{key}", "must name an ALSA PCM, e.g. plughw:CARD=Device,DEV=0"))
        software_dtmf = spec.get("software_dtmf", False)
        if not isinstance(software_dtmf, bool):
            problems.append(Problem(f"{where}.software_dtmf", "must be true or false"))
        ussd = spec.get("ussd_balance")
        if ussd is not None and not (isinstance(ussd, str) and re.fullmatch(r"[*#0-9]{2,20}", ussd)):
            problems.append(Problem(f"{where}.ussd_balance", f"{ussd!r} is not a USSD code like \"*100#\""))
            ussd = None
        timing = {}
        for key, low, high in (("ussd_period", 600, 30 * 86400), ("dial_timeout", 10, 300)):
            if key in spec:
                value = spec[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                    problems.append(Problem(f"{where}.{key}", f"must be seconds from {low} to {high}"))
                else:
                    timing[key] = float(value)
        answering = _answering(spec, where, problems)
        lines.append(LineConfig(line_id, str(port), str(dialect), int(baudrate) if isinstance(baudrate, int) else 0,
                                bool(rtscts), sim_pin, power_pin, str(audio["audio_out"]), str(audio["audio_in"]),
                                software_dtmf is True, ussd, **timing, **answering))
    return lines


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


def _pin(value: object, where: str, problems: list[Problem], optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, str) and _GPIO_NAME.match(value):
        value = int(_GPIO_NAME.match(value).group(1))
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 27:
        return value
    problems.append(Problem(where, f"{value!r} is not a GPIO pin: use a BCM number 0-27 (or \"GPIO17\")"))
    return None


def _handsets(raw: object, line_ids: set[str], problems: list[Problem]) -> list[dict[str, Any]]:
    if raw is None:
        problems.append(Problem("handsets", "no [[handsets]]: nobody could answer a caller", "warning"))
        return []
    if not isinstance(raw, list):
        problems.append(Problem("handsets", "must be a list of [[handsets]] tables"))
        return []
    handsets: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, spec in enumerate(raw):
        where = f"handsets[{i}]"
        if not isinstance(spec, dict):
            problems.append(Problem(where, "must be a table"))
            continue
        handset_id = spec.get("id")
        if not isinstance(handset_id, str) or not _ID.match(handset_id) or handset_id in seen:
            problems.append(Problem(f"{where}.id", f"{handset_id!r}: needs a unique id of lowercase letters/digits"))
            continue
        seen.add(handset_id)
        kind = spec.get("kind", "relay")
        if kind not in HANDSET_PINS:
            problems.append(Problem(f"{where}.kind", f"{kind!r} is not one of {', '.join(HANDSET_PINS)}"))
            continue
        clean = dict(spec, kind=kind)
        for name in HANDSET_PINS[kind]:
            clean[name] = _pin(spec.get(name), f"{where}.{name}", problems)
        audio_pins = spec.get("audio_pins", {})
        if not isinstance(audio_pins, dict):
            problems.append(Problem(f"{where}.audio_pins", "must be a table of line = pin"))
            audio_pins = {}
        clean["audio_pins"] = {}
        for line_id, pin in audio_pins.items():
            if line_id not in line_ids:
                problems.append(Problem(f"{where}.audio_pins.{line_id}", "names no configured line"))
            clean["audio_pins"][line_id] = _pin(pin, f"{where}.audio_pins.{line_id}", problems)
        skills = spec.get("skills", [])
        if not isinstance(skills, list) or not all(isinstance(s, str) and s for s in skills):
            problems.append(Problem(f"{where}.skills", "must be a list of skill names"))
            clean["skills"] = []
        handsets.append(clean)
    return handsets


def _pins_used_once(lines: list[LineConfig], handsets: list[dict[str, Any]], problems: list[Problem]) -> None:
    owners: dict[int, str] = {}

    def claim(pin: int | None, where: str) -> None:
        if pin is None:
            return
        if pin in owners:
            problems.append(Problem(where, f"GPIO{pin} is already used by {owners[pin]}"))
        else:
            owners[pin] = where

    for i, line in enumerate(lines):
        claim(line.power_pin, f"lines[{i}].power_pin")
    for i, spec in enumerate(handsets):
        for name in HANDSET_PINS[spec["kind"]]:
            claim(spec.get(name), f"handsets[{i}].{name}")
        for line_id, pin in spec["audio_pins"].items():
            claim(pin, f"handsets[{i}].audio_pins.{line_id}")
        if "presence_pin" in spec:
            claim(_pin(spec["presence_pin"], f"handsets[{i}].presence_pin", problems), f"handsets[{i}].presence_pin")


_UPLOAD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")


def _prompts(raw: dict[str, Any], problems: list[Problem]) -> dict[str, dict[str, Any]]:
    prompts: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        where = f"prompts.{name}"
        if not isinstance(spec, dict):
            problems.append(Problem(where, "must be a table with text and lang, or file"))
            continue
        has_text, has_file = isinstance(spec.get("text"), str), isinstance(spec.get("file"), str)
        if has_text == has_file:
            problems.append(Problem(where, "needs exactly one of text = \"...\" or file = \"...\""))
            continue
        if has_text and not spec["text"].strip():
            problems.append(Problem(f"{where}.text", "is empty"))
            continue
        if has_text and spec.get("lang", "en") not in LANGUAGES:
            problems.append(Problem(f"{where}.lang", f"{spec.get('lang')!r} is not one of {', '.join(LANGUAGES)}"))
            continue
        if has_file and not _UPLOAD_NAME.fullmatch(spec["file"]):
            # Read from the uploads directory only: an absolute path or ../ would play any file on the box.
            problems.append(Problem(f"{where}.file", f"{spec['file'][:80]!r} must be the name of a recording "
                                    "uploaded to the box (letters, digits, . _ -; no directories, no ..)"))
            continue
        prompts[name] = spec
    return prompts
