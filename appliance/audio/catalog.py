"""Every sound a line may play, rendered once at start and held in memory.

Prompts are short (a few seconds of 8 kHz mono is tens of kilobytes), so
keeping them in RAM costs little and spares the SD card a read per call.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..config import Config
from ..core.handoff import MAX_WAIT_MINUTES, RINGBACK, position_prompt, wait_prompt
from ..core.ivr import BEEP
from .prompts import PromptError, PromptLibrary
from .tones import tone

log = logging.getLogger(__name__)


def render_prompts(config: Config, cache_dir: Path, uploads_dir: Path | None = None) -> dict[str, bytes]:
    """Speak or convert every configured prompt; raise PromptError naming the prompt that failed."""
    library = PromptLibrary(cache_dir)
    uploads_dir = uploads_dir or cache_dir.parent / "uploads"
    sounds: dict[str, bytes] = {}
    for name, spec in config.prompts.items():
        try:
            if "text" in spec:
                path = library.from_text(spec["text"], spec.get("lang", config.language))
            else:
                upload = uploads_dir / spec["file"]
                path = library.from_upload(upload.read_bytes(), upload.name)
        except (PromptError, OSError) as exc:
            raise PromptError(f"prompts.{name}: {exc}") from exc
        sounds[name] = library.samples(path)
    queue = config.document.get("queue", {})
    if config.people.queue.announce_every > 0:
        # "You are number N in line" for 1..9, in each language the admin wrote it in.
        for suffix, lang in (("", config.language), ("_ru", "ru"), ("_en", "en")):
            template = queue.get(f"position_text{suffix}")
            if not template:
                continue
            for n in range(1, 10):
                path = library.from_text(template.replace("{n}", str(n)), lang)
                sounds[position_prompt(n) + suffix] = library.samples(path)
        for suffix, lang in (("", config.language), ("_ru", "ru"), ("_en", "en")):
            template = queue.get(f"wait_text{suffix}")
            if not template:
                continue
            for m in range(1, MAX_WAIT_MINUTES + 1):
                path = library.from_text(template.replace("{m}", str(m)), lang)
                sounds[wait_prompt(m) + suffix] = library.samples(path)
    sounds[RINGBACK] = tone("ringback", config.country)
    sounds[BEEP] = tone("beep", config.country)
    log.info("%d prompts ready", len(sounds))
    return sounds
