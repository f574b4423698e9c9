"""The prompt library against the real espeak-ng and sox."""

from __future__ import annotations

import os
import subprocess
from array import array
from pathlib import Path

import pytest

from appliance.audio.prompts import PromptError, PromptLibrary

RATE = 8000
FULL_SCALE = 32767
MINUS_3_DB = FULL_SCALE * 10 ** (-3 / 20)
EDGE = RATE // 20  # 50 ms of samples


def pcm(data: bytes) -> array:
    samples = array("h")
    samples.frombytes(data)
    return samples


def peak(samples) -> int:
    return max(abs(s) for s in samples)


def cache_entries(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


@pytest.fixture
def spy_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Wraps espeak-ng and sox on PATH so a test can see every real run and its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "runs.log"
    for tool in ("espeak-ng", "sox"):
        script = bin_dir / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\nexec /usr/bin/{tool} "$@"\n')
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    log.touch()
    return log


def runs(log: Path, tool: str) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith(tool + " ")]


def test_text_prompt_is_8k_mono_16bit_normalised_and_trimmed(tmp_path: Path) -> None:
    text = "Hello. You have reached the helpline."
    library = PromptLibrary(tmp_path / "cache", rate=RATE)
    path = library.from_text(text, "en")
    samples = pcm(library.samples(path))

    # espeak's own 22 kHz WAV of the same text, measured by soxi, is the independent clock: a wrong rate,
    # channel count or sample width would make our sample count disagree with it by a factor of 2 or more.
    reference = tmp_path / "reference.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(reference), text], check=True)
    reference_seconds = float(subprocess.run(["soxi", "-D", str(reference)], capture_output=True,
                                             check=True, text=True).stdout)
    seconds = len(samples) / RATE
    assert reference_seconds - 0.6 < seconds <= reference_seconds

    assert abs(peak(samples) - MINUS_3_DB) < 0.02 * FULL_SCALE
    # Trimmed: speech starts and ends within the first and last 50 ms, not after a pause.
    assert peak(samples[:EDGE]) > 0.01 * FULL_SCALE
    assert peak(samples[-EDGE:]) > 0.01 * FULL_SCALE


def test_same_text_is_spoken_once_then_served_from_cache(tmp_path: Path, spy_path: Path) -> None:
    library = PromptLibrary(tmp_path / "cache")
    first = library.from_text("Please hold.", "en")
    stamp = first.stat().st_mtime_ns
    again = PromptLibrary(tmp_path / "cache").from_text("Please hold.", "en")

    assert again == first
    assert first.stat().st_mtime_ns == stamp
    assert len(runs(spy_path, "espeak-ng")) == 1
    assert cache_entries(tmp_path / "cache") == [first.name]


def test_cache_key_covers_text_language_and_rate(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    narrow = PromptLibrary(cache, rate=8000)
    wide = PromptLibrary(cache, rate=16000)
    a = narrow.from_text("Thank you.", "en")
    b = narrow.from_text("Thank you!", "en")
    c = narrow.from_text("Thank you.", "en-gb")
    d = wide.from_text("Thank you.", "en")
    assert len({a, b, c, d}) == 4
    # The same speech at twice the rate is about twice the samples.
    assert 1.8 < len(wide.samples(d)) / len(narrow.samples(a)) < 2.2


def test_russian_text_uses_the_russian_voice(tmp_path: Path, spy_path: Path) -> None:
    library = PromptLibrary(tmp_path / "cache")
    samples = pcm(library.samples(library.from_text("Здравствуйте, вы позвонили на горячую линию.", "ru")))
    assert len(samples) / RATE > 1.0
    assert abs(peak(samples) - MINUS_3_DB) < 0.02 * FULL_SCALE
    assert "-v ru " in runs(spy_path, "espeak-ng")[0]


@pytest.mark.parametrize(("text", "lang", "named"), [
    ("Hello", "klingon", "'klingon'"),
    ("Hello", "", "''"),
    ("   ", "en", "empty"),
])
def test_bad_text_prompt_is_refused_and_nothing_cached(tmp_path: Path, text: str, lang: str,
                                                       named: str) -> None:
    library = PromptLibrary(tmp_path / "cache")
    with pytest.raises(PromptError, match=named):
        library.from_text(text, lang)
    assert cache_entries(tmp_path / "cache") == []


def test_text_starting_with_a_dash_is_spoken_not_parsed_as_an_option(tmp_path: Path) -> None:
    library = PromptLibrary(tmp_path / "cache")
    assert len(library.samples(library.from_text("-v zz hello", "en"))) / 2 / RATE > 0.3


def test_missing_prompt_file_is_a_prompt_error_naming_it(tmp_path: Path) -> None:
    library = PromptLibrary(tmp_path / "cache")
    with pytest.raises(PromptError, match="gone.raw"):
        library.samples(tmp_path / "gone.raw")
