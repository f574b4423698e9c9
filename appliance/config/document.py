"""The configuration document: one TOML file, checked as a whole before anything starts.

Every problem names its field, so `hotline check` can print them all at once
and an admin fixes the file in one go rather than one error per restart.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ..core.flow import parse_flow
from ..core.problems import Problem
from ..core.schedule import parse_schedule
from .alerts import parse_alerts
from .fleet import parse_fleet
from .handsets import parse_cadence, parse_handsets
from .keys import unknown_keys
from .lines import parse_lines
from .model import Config, PromptConfig
from .people import parse_people
from .records import parse_records
from .speech import parse_speech
from .texts import parse_texts
from .validators import LANGUAGES


class ConfigError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def default_document() -> dict[str, Any]:
    from importlib import resources  # with tempfile and random: only `hotline simulate` and the tests ask

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
    cadence = parse_cadence(_table(document, "ringing", problems), problems)
    lines = parse_lines(document.get("lines"), simulated, check_devices, problems)
    handsets = parse_handsets(document.get("handsets"), lines, problems)
    schedule, schedule_problems = parse_schedule(document.get("schedule"))
    problems += schedule_problems
    prompts = _prompts(_table(document, "prompts", problems), language, problems)
    flow, flow_problems = parse_flow(document.get("flow"), _flow_prompts(prompts))
    problems += flow_problems
    people = parse_people(document, set(prompts), schedule.timezone, problems)
    records = parse_records(document, problems)
    fleet = parse_fleet(document, check_devices, problems)
    alerts = parse_alerts(document, problems)
    speech = parse_speech(document, problems)
    texts = parse_texts(document, problems)
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
        fleet=fleet,
        alerts=alerts, texts=texts,
        speech=speech,
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


_UPLOAD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
_VOICE = re.compile(r"(espeak-ng|rhvoice|piper):[A-Za-z0-9][A-Za-z0-9._-]{0,80}")  # appliance/speech/voices.py


def _prompts(raw: dict[str, Any], language: str, problems: list[Problem]) -> dict[str, PromptConfig]:
    prompts: dict[str, PromptConfig] = {}
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
        voice = spec.get("voice")
        if voice is not None and (not isinstance(voice, str) or not _VOICE.fullmatch(voice)):
            problems.append(Problem(f"{where}.voice", f"{str(voice)[:80]!r} is not a voice: espeak-ng:<lang>, "
                                    "rhvoice:<name> or piper:<uploaded voice> (the Speech page lists them)"))
            continue
        prompts[name] = PromptConfig(text=spec["text"], lang=spec.get("lang", language), voice=voice) if has_text \
            else PromptConfig(file=spec["file"])
    return prompts
