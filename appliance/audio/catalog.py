"""Every sound a line may play, rendered into the cache (several espeak-ng/sox processes at once) by the
daemon's worker thread, off its loop, while it starts and after READY=1.

A prompt is its cache file, read by the line's player each time it starts (the page cache keeps the
busy ones in memory, and gives the memory back when it is needed): held as bytes, the dozens of prompts
in each language took megabytes of a 512 MB Pi for the whole day. Only the two tones are bytes.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..config import Config
from ..core.desks import handover_prompt
from ..core.moves import CONNECTING
from ..core.nodes import BEEP
from ..core.queue import MAX_WAIT_MINUTES, RINGBACK, position_prompt, wait_prompt
from ..core.remote import whisper_prompt
from .player import Sound
from .prompts import PromptDiskFull, PromptError, PromptLibrary, pcm_file
from .tones import tone

log = logging.getLogger(__name__)


def render_prompts(config: Config, cache_dir: Path, uploads_dir: Path | None = None, *,
                   problems: list[tuple[str, str]] | None = None,
                   stop: threading.Event | None = None) -> dict[str, Sound]:
    """Speak or convert every configured prompt (those not begun when `stop` is set fail at once: a box told
    to stop does not first make the rest of its prompts).

    problems=None (a config being applied): raise PromptError naming the prompt that failed, so the
    running config stays. A list (the box starting): one bad prompt must not keep the box off the phone,
    so a prompt that cannot be made is replaced by a short neutral tone, and (prompt, what happened) is
    added to the list. A full disk raises PromptDiskFull either way: no prompt could be made there.
    """
    jobs = _jobs(config, PromptLibrary(cache_dir), uploads_dir or cache_dir.parent / "uploads")
    sounds: dict[str, Sound] = {}
    # espeak-ng and sox are separate processes: run several at once, one per core, instead of one after another
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="prompt") as pool:
        # one job per distinct source: two threads making the same cache file would trip over each other
        futures = {source: pool.submit(_unless_stopped, stop, *source)
                   for source in dict.fromkeys(source for _, _, source in jobs)}
        made = [(name, group, futures[source]) for name, group, source in jobs]
        failed: set[str] = set()
        for name, group, future in made:
            try:
                sounds[name] = future.result()
            except PromptDiskFull:
                raise
            except (PromptError, OSError) as exc:
                if problems is None:
                    raise (PromptError(f"prompts.{name}: {exc}") if name == group else exc) from exc
                if name == group:
                    sounds[name] = tone("beep", config.country)
                    spec = config.prompts[name]
                    source = "its text could not be spoken" if spec.file is None else \
                        f"the recording {spec.file!r} is missing or cannot be played"
                    problems.append((name, f"prompt {name!r}: {source} ({_reason(exc)}); callers hear a short tone "
                                           "instead. Upload the recording again or fix the prompt on the web page."))
                elif group not in failed:  # without them a waiting caller simply hears no announcement
                    failed.add(group)
                    problems.append((group, f"{group} could not be spoken ({_reason(exc)}); waiting callers hear "
                                            "no such announcement"))
    sounds.update(tones(config, cache_dir))
    log.info("%d prompts ready", len(sounds))
    return sounds


WHISPER = {"en": "Helpline call{skill}. Press 1 to accept.",
           "ru": "Звонок на горячую линию{skill}. Чтобы принять, нажмите 1."}


def _whispers(config: Config, library: PromptLibrary | None) -> list[tuple[str, str, tuple[Any, ...]]]:
    """What a remote operator hears on picking up, one per skill a caller may be routed by: only on a box
    that has remote operators (core/remote.py)."""
    if not any(o.phone for o in config.people.operators):
        return []
    return _per_skill(config, library, WHISPER, whisper_prompt, "whisper")


HANDOVER = {"en": "A colleague is handing you a caller{skill}.",
            "ru": "Коллега передаёт вам абонента{skill}."}


def _handover_whispers(config: Config, library: PromptLibrary | None) -> list[tuple[str, str, tuple[Any, ...]]]:
    """What a desk taking a handed-over caller hears first, one per skill: only with [queue] handover_whisper
    (core/desks.py)."""
    if not config.people.queue.handover_whisper:
        return []
    return _per_skill(config, library, HANDOVER, handover_prompt, "handover")


def _per_skill(config: Config, library: PromptLibrary | None, texts: dict[str, str],
               name_of: Callable[[str | None], str], group: str) -> list[tuple[str, str, tuple[Any, ...]]]:
    """One spoken prompt per skill a caller may be routed by, and one for no skill, in the box's language
    (English where `texts` has none in it)."""
    skills = {s for o in config.people.operators for s in o.skills}
    skills |= {n.skill for n in config.flow.nodes.values() if n.skill}
    lang = config.language if config.language in texts else "en"
    return [(name_of(skill), group, (_spoken, library, texts[lang].format(skill=f", {skill}" if skill else ""), lang))
            for skill in (None, *sorted(skills))]


CONNECTING_TEXT = {"en": "Connecting you to an operator. Please stay on the line.",
                   "ru": "Соединяем вас с оператором. Пожалуйста, оставайтесь на линии."}


def _connecting(config: Config, library: PromptLibrary | None) -> list[tuple[str, str, tuple[Any, ...]]]:
    """What a caller a sibling box moved here hears before the queue's music (core/moves.py), in the box's
    language and in each language it has words for (the caller's choice there): only on a box in a fleet."""
    if config.fleet is None:
        return []
    lang = config.language if config.language in CONNECTING_TEXT else "en"
    group = "fleet's connecting-you prompt"  # not a [prompts] name: a failure is told as the announcements' are
    return [(CONNECTING, group, (_spoken, library, CONNECTING_TEXT[lang], lang))] + [
        (f"{CONNECTING}_{code}", group, (_spoken, library, text, code)) for code, text in CONNECTING_TEXT.items()]


def prompt_names(config: Config) -> set[str]:
    """The name of every sound render_prompts makes for this config, without making any: what the flow may
    ask for while they are still being made."""
    return {name for name, _, _ in _jobs(config, None, Path())} | {RINGBACK, BEEP}


def tones(config: Config, cache: Path | None = None) -> dict[str, Sound]:
    """The two tones, held in memory so there from the first moment (rendered once into `cache`)."""
    return {RINGBACK: tone("ringback", config.country, cache=cache), BEEP: tone("beep", config.country, cache=cache)}


def _jobs(config: Config, library: PromptLibrary | None, uploads_dir: Path) -> list[tuple[str, str, tuple[Any, ...]]]:
    """(sound name, the group a failure is reported under, what it is made from) for every prompt."""
    jobs: list[tuple[str, str, tuple[Any, ...]]] = []
    for name, spec in config.prompts.items():
        if spec.file is None:
            jobs.append((name, name, (_spoken, library, spec.text, spec.lang, spec.voice)))
        else:
            jobs.append((name, name, (_converted, library, uploads_dir / spec.file)))
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
                    jobs.append((name_of(n) + suffix, f"queue.{field}{suffix}", (_spoken, library, text, lang)))
    return jobs + _whispers(config, library) + _handover_whispers(config, library) + _connecting(config, library)


def _unless_stopped(stop: threading.Event | None, make: Callable[..., Path], *args: Any) -> Path:
    if stop is not None and stop.is_set():
        raise PromptError("not made: the box is stopping")
    return make(*args)


def _spoken(library: PromptLibrary, text: str, lang: str, voice: str | None = None) -> Path:
    return pcm_file(library.from_text(text, lang, voice))


def _converted(library: PromptLibrary, upload: Path) -> Path:
    return pcm_file(library.from_upload(upload.read_bytes(), upload.name))


def _reason(exc: Exception) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
