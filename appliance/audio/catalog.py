"""Every sound a line may play, looked up in the cache by the daemon's worker thread, off its loop, after
READY=1; those still to be made are made by one child process (audio/prompt_process.py: several espeak-ng/sox
processes at once).

A prompt is its cache file, read by the line's player each time it starts (the page cache keeps the
busy ones in memory, and gives the memory back when it is needed): held as bytes, the dozens of prompts
in each language took megabytes of a 512 MB Pi for the whole day. Only the two tones are bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ..config import Config
from ..core.desks import handover_prompt
from ..core.moves import CONNECTING
from ..core.nodes import BEEP
from ..core.queue import MAX_WAIT_MINUTES, RINGBACK, position_prompt, wait_prompt
from ..core.remote import whisper_prompt
from .player import Sound
from .prompt_process import PromptProcess, Source, spoken, uploaded
from .prompts import PromptDiskFull, PromptError, PromptLibrary
from .tones import tone

log = logging.getLogger(__name__)


def render_prompts(config: Config, cache_dir: Path, uploads_dir: Path | None = None, *,
                   problems: list[tuple[str, str]] | None = None,
                   maker: PromptProcess | None = None) -> dict[str, Sound]:
    """Speak or convert every configured prompt (with `maker` stopped, those not begun fail at once: a box told
    to stop does not first make the rest of its prompts).

    problems=None (a config being applied): raise PromptError naming the prompt that failed, so the
    running config stays. A list (the box starting): one bad prompt must not keep the box off the phone,
    so a prompt that cannot be made is replaced by a short neutral tone, and (prompt, what happened) is
    added to the list. A full disk raises PromptDiskFull either way: no prompt could be made there.
    """
    jobs = _jobs(config, uploads_dir or cache_dir.parent / "uploads")
    sounds: dict[str, Sound] = {}
    # one per distinct source: two makers of the same cache file would trip over each other
    outcomes = (maker or PromptProcess()).make(PromptLibrary(cache_dir),
                                               list(dict.fromkeys(source for _, _, source in jobs)))
    failed: set[str] = set()
    for name, group, source in jobs:
        outcome = outcomes[source]
        if isinstance(outcome, Path):
            sounds[name] = outcome
            continue
        if isinstance(outcome, PromptDiskFull):
            raise outcome
        if problems is None:
            raise (PromptError(f"prompts.{name}: {outcome}") if name == group else outcome) from outcome
        if name == group:
            sounds[name] = tone("beep", config.country)
            spec = config.prompts[name]
            what = "its text could not be spoken" if spec.file is None else \
                f"the recording {spec.file!r} is missing or cannot be played"
            problems.append((name, f"prompt {name!r}: {what} ({_reason(outcome)}); callers hear a short tone "
                                   "instead. Upload the recording again or fix the prompt on the web page."))
        elif group not in failed:  # without them a waiting caller simply hears no announcement
            failed.add(group)
            problems.append((group, f"{group} could not be spoken ({_reason(outcome)}); waiting callers hear "
                                    "no such announcement"))
    sounds.update(tones(config, cache_dir))
    log.info("%d prompts ready", len(sounds))
    return sounds


WHISPER = {"en": "Helpline call{skill}. Press 1 to accept.",
           "ru": "Звонок на горячую линию{skill}. Чтобы принять, нажмите 1."}


def _whispers(config: Config) -> list[tuple[str, str, Source]]:
    """What a remote operator hears on picking up, one per skill a caller may be routed by: only on a box
    that has remote operators (core/remote.py)."""
    if not any(o.phone for o in config.people.operators):
        return []
    return _per_skill(config, WHISPER, whisper_prompt, "whisper")


HANDOVER = {"en": "A colleague is handing you a caller{skill}.",
            "ru": "Коллега передаёт вам абонента{skill}."}


def _handover_whispers(config: Config) -> list[tuple[str, str, Source]]:
    """What a desk taking a handed-over caller hears first, one per skill: only with [queue] handover_whisper
    (core/desks.py)."""
    if not config.people.queue.handover_whisper:
        return []
    return _per_skill(config, HANDOVER, handover_prompt, "handover")


def _per_skill(config: Config, texts: dict[str, str], name_of: Callable[[str | None], str],
               group: str) -> list[tuple[str, str, Source]]:
    """One spoken prompt per skill a caller may be routed by, and one for no skill, in the box's language
    (English where `texts` has none in it)."""
    skills = {s for o in config.people.operators for s in o.skills}
    skills |= {n.skill for n in config.flow.nodes.values() if n.skill}
    lang = config.language if config.language in texts else "en"
    return [(name_of(skill), group, spoken(texts[lang].format(skill=f", {skill}" if skill else ""), lang))
            for skill in (None, *sorted(skills))]


CONNECTING_TEXT = {"en": "Connecting you to an operator. Please stay on the line.",
                   "ru": "Соединяем вас с оператором. Пожалуйста, оставайтесь на линии."}


def _connecting(config: Config) -> list[tuple[str, str, Source]]:
    """What a caller a sibling box moved here hears before the queue's music (core/moves.py), in the box's
    language and in each language it has words for (the caller's choice there): only on a box in a fleet."""
    if config.fleet is None:
        return []
    lang = config.language if config.language in CONNECTING_TEXT else "en"
    group = "fleet's connecting-you prompt"  # not a [prompts] name: a failure is told as the announcements' are
    return [(CONNECTING, group, spoken(CONNECTING_TEXT[lang], lang))] + [
        (f"{CONNECTING}_{code}", group, spoken(text, code)) for code, text in CONNECTING_TEXT.items()]


def prompt_names(config: Config) -> set[str]:
    """The name of every sound render_prompts makes for this config, without making any: what the flow may
    ask for while they are still being made."""
    return {name for name, _, _ in _jobs(config, Path())} | {RINGBACK, BEEP}


def tones(config: Config, cache: Path | None = None) -> dict[str, Sound]:
    """The two tones, held in memory so there from the first moment (rendered once into `cache`)."""
    return {RINGBACK: tone("ringback", config.country, cache=cache), BEEP: tone("beep", config.country, cache=cache)}


def _jobs(config: Config, uploads_dir: Path) -> list[tuple[str, str, Source]]:
    """(sound name, the group a failure is reported under, what it is made from) for every prompt."""
    jobs: list[tuple[str, str, Source]] = []
    for name, spec in config.prompts.items():
        if spec.file is None:
            jobs.append((name, name, spoken(spec.text or "", spec.lang, spec.voice)))
        else:
            jobs.append((name, name, uploaded(uploads_dir / spec.file)))
    if config.people.queue.announce_every > 0:
        # "You are number N in line" for 1..9 and "about M minutes", in each language the admin wrote them in.
        for field, numbers, name_of in (("position_text", range(1, 10), position_prompt),
                                        ("wait_text", range(1, MAX_WAIT_MINUTES + 1), wait_prompt)):
            for suffix, lang in (("", config.language), ("_ru", "ru"), ("_en", "en")):
                template = config.people.announcements.get(f"{field}{suffix}")
                if not template:
                    continue
                for n in numbers:
                    text = template.replace("{n}" if field == "position_text" else "{m}", str(n))
                    jobs.append((name_of(n) + suffix, f"queue.{field}{suffix}", spoken(text, lang)))
    return jobs + _whispers(config) + _handover_whispers(config) + _connecting(config)


def _reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
