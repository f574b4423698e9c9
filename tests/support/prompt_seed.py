"""Each prompt rendered once per test run, shared by the boxes the tests start.

A box makes its prompts (espeak-ng, sox, the loudness pass) into data/prompts at start: the 69 of the
default document take 3-4 s of two cores, and most system tests start a box on the same few prompt sets.
The product's cache is content-addressed (the name covers text, voice, rate and pipeline version) and
checks each file against its SHA-256, so a data directory given this run's earlier files is a box
restarted with its cache: the first box of a run renders for real, the later ones find their files.

Seeding never replaces a file already in a data directory (a test that damages a cached prompt keeps its
damage), and the run's seed lives in a directory of its own (shared by xdist's workers, made by the
process that starts them), so nothing rendered by an older version of the code is ever played.
Tests of the rendering itself render into directories of their own and are not seeded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ENV = "HOTLINE_TESTS_PROMPT_SEED"


def start_run() -> str | None:
    """Called once per process by pytest_configure: the directory a run's workers share; the path when this
    process made it (it removes it at the end), None when it was given one (an xdist worker)."""
    if os.environ.get(ENV):
        return None
    os.environ[ENV] = tempfile.mkdtemp(prefix="hotline-prompt-seed-")
    return os.environ[ENV]


def _seed() -> Path | None:
    path = os.environ.get(ENV)
    return Path(path) if path else None


def seed(data: Path) -> None:
    """Give the box on `data` the prompts this run made so far (before it starts)."""
    source = _seed()
    if source is None:
        return
    cache = data / "prompts"
    cache.mkdir(parents=True, exist_ok=True)
    for made in source.iterdir():
        if not made.name.startswith(".") and not (cache / made.name).exists():
            shutil.copyfile(made, cache / made.name)


def keep(data: Path) -> None:
    """Add what the box on `data` rendered to the run's seed (once it started). Each file lands whole
    (copied aside, then renamed), so a box seeded meanwhile by another worker never reads half of one."""
    target = _seed()
    cache = data / "prompts"
    if target is None or not cache.is_dir():
        return
    for made in cache.iterdir():
        if made.is_file() and not (target / made.name).exists():
            aside = target / f".{made.name}.{os.getpid()}"
            shutil.copyfile(made, aside)
            os.replace(aside, target / made.name)
