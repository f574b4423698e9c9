"""Prompts are rendered by several espeak-ng/sox processes at once."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

from appliance import config as configuration
from appliance.audio.catalog import render_prompts


@pytest.fixture
def busy_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """espeak-ng wrapped so each run notes how many runs were going on at once (itself included)."""
    bin_dir, running, log = tmp_path / "bin", tmp_path / "running", tmp_path / "runs.log"
    bin_dir.mkdir()
    running.mkdir()
    script = bin_dir / "espeak-ng"
    script.write_text(
        f'#!/bin/sh\ntouch "{running}/$$"\nsleep 0.3\nls "{running}" | wc -l >> "{log}"\n'
        f'/usr/bin/espeak-ng "$@"\nstatus=$?\nrm "{running}/$$"\nexit $status\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    log.touch()
    return log


def test_prompts_are_spoken_by_several_processes_at_once(tmp_path: Path, busy_log: Path):
    doc = copy.deepcopy(configuration.default_document())
    doc["queue"]["announce_every"] = 0  # no "number N in line" set: a short test
    texts = [f"Prompt number {n}." for n in range(6)]
    doc["prompts"] = {**doc.get("prompts", {}), **{f"extra{n}": {"text": t} for n, t in enumerate(texts)}}
    doc["prompts"]["extra_again"] = {"text": texts[0]}  # two prompts with the same words share one file
    config = configuration.parse(doc)
    sounds = render_prompts(config, tmp_path / "data" / "prompts", problems=(problems := []))
    assert problems == []
    assert all(sounds[f"extra{n}"] for n in range(6)) and sounds["extra_again"] == sounds["extra0"]
    at_once = [int(line) for line in busy_log.read_text().split()]
    assert max(at_once) >= min(2, os.cpu_count() or 1)  # never more than one at a time before


MAKES_PROMPTS = """
import copy, json, sys
from pathlib import Path
from appliance import config as configuration
from appliance.audio.catalog import render_prompts

doc = copy.deepcopy(configuration.default_document())
doc["queue"]["announce_every"] = 0
doc["prompts"] = {name: dict(spec, text="Hi.") for name, spec in doc["prompts"].items()}  # a file per voice
sounds = render_prompts(configuration.parse(doc), Path(sys.argv[1]), problems=(problems := []))
assert problems == [] and all(Path(sounds[name]).stat().st_size for name in doc["prompts"]), problems
print(json.dumps(sorted(set(sys.modules) & {"subprocess", "concurrent.futures", "appliance.audio.loudness"})))
"""


def test_the_process_that_asks_for_prompts_holds_none_of_what_makes_them(tmp_path: Path):
    """The daemon asks for its prompts at every start: those not in the cache are made by a child process, so
    the daemon holds neither the loudness pass nor a thread pool nor subprocess (with locale) for the months it runs
    (docs/proof.md, eighth session: modules). (tempfile is left out here: the default document this test reads
    loads it through importlib.resources.)"""
    import json
    import subprocess
    import sys

    cache = tmp_path / "data" / "prompts"
    made = []
    for _ in ("first start: made", "restart: from the cache"):
        done = subprocess.run([sys.executable, "-c", MAKES_PROMPTS, str(cache)], capture_output=True, text=True,
                              check=True, timeout=120)
        assert json.loads(done.stdout.splitlines()[-1]) == []
        made.append({path.name: path.stat().st_mtime_ns for path in cache.glob("tts-*.raw")})
    assert made[0] and made[1] == made[0]  # the restart made nothing again
