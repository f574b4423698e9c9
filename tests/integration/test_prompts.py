"""The prompt library against the real espeak-ng and sox."""

from __future__ import annotations

import math
import os
import subprocess
import wave
from array import array
from pathlib import Path

import pytest

from appliance.audio import convert
from appliance.audio.loudness import LEAD_IN_SECONDS, active_speech_level
from appliance.audio.prompts import PromptError, PromptLibrary

RATE = 8000
FULL_SCALE = 32767
EDGE = RATE // 20  # 50 ms of samples
LEAD = int(LEAD_IN_SECONDS * RATE)  # the silence every prompt starts with


def speech_level(samples) -> float:
    """Active speech level in dBov (ITU-T P.56), as the library measures it."""
    return active_speech_level([s / 32768 for s in samples], RATE)


def loud_frames_level(samples) -> float:
    """An independent yardstick: the mean power of the 20 ms frames within 30 dB of the loudest, in dBov."""
    import numpy as np

    x = np.array(samples[:len(samples) - len(samples) % 160], dtype=float).reshape(-1, 160) / 32768
    power = (x * x).mean(axis=1)
    return float(10 * np.log10(power[power > power.max() / 1000].mean()))


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


def test_text_prompt_is_8k_mono_16bit_at_speech_level_after_a_lead_in(tmp_path: Path) -> None:
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
    seconds = (len(samples) - LEAD) / RATE
    assert reference_seconds - 0.6 < seconds <= reference_seconds

    assert abs(speech_level(samples) - -26) < 0.3, "at the network's nominal speech level, -26 dBov"
    assert peak(samples) < FULL_SCALE * 10 ** (-0.9 / 20), "no sample clipped"
    # A short lead-in of silence, then speech at once; trimmed at the end.
    assert LEAD == RATE * 3 // 20 and peak(samples[:LEAD]) == 0
    assert peak(samples[LEAD:LEAD + EDGE]) > 0.003 * FULL_SCALE
    assert peak(samples[-EDGE:]) > 0.003 * FULL_SCALE


@pytest.mark.parametrize("volume", [0.05, 1.0])
def test_every_prompt_reaches_the_caller_at_one_speech_level(tmp_path: Path, volume: float) -> None:
    """Two voices, two texts, and a recording made 26 dB quieter (or as loud as it gets) all end up within a
    fraction of a dB of each other, by P.56 and by a plain loud-frames yardstick alike."""
    library = PromptLibrary(tmp_path / "cache", rate=RATE)
    english = pcm(library.samples(library.from_text("Press one for billing, or stay on the line.", "en")))
    russian = pcm(library.samples(library.from_text("Здравствуйте, вы позвонили на горячую линию.", "ru")))
    recorded = tmp_path / "recorded.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(recorded), "Thank you for calling."], check=True)
    quiet = tmp_path / "quiet.wav"
    subprocess.run(["sox", str(recorded), str(quiet), "vol", str(volume)], check=True)
    upload = pcm(library.samples(library.from_upload(quiet.read_bytes(), "thanks.wav")))
    levels = [speech_level(s) for s in (english, russian, upload)]
    assert max(levels) - min(levels) < 0.5 and all(abs(level + 26) < 0.3 for level in levels), levels
    yardstick = [loud_frames_level(s) for s in (english, russian, upload)]
    assert max(yardstick) - min(yardstick) < 2.0, yardstick


def test_same_text_is_spoken_once_then_served_from_cache(tmp_path: Path, spy_path: Path) -> None:
    library = PromptLibrary(tmp_path / "cache")
    first = library.from_text("Please hold.", "en")
    stamp = first.stat().st_mtime_ns
    again = PromptLibrary(tmp_path / "cache").from_text("Please hold.", "en")

    assert again == first
    assert first.stat().st_mtime_ns == stamp
    assert len(runs(spy_path, "espeak-ng")) == 1
    assert cache_entries(tmp_path / "cache") == [first.name, first.name + ".sha256"]  # the file and its checksum


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
    assert abs(speech_level(samples) + 26) < 0.3
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


def write_wav(path: Path, *, seconds: float, rate: int = 22050, channels: int = 2, freq: float = 440.0,
              amplitude: float = 0.1, pad: float = 0.3) -> Path:
    """A quiet sine between two stretches of digital silence, made with the wave module."""
    silence = [0] * int(pad * rate)
    step = 2 * math.pi * freq / rate
    tone = [int(amplitude * FULL_SCALE * math.sin(step * n)) for n in range(int(seconds * rate))]
    frames = array("h", [s for s in silence + tone + silence for _ in range(channels)])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames.tobytes())
    return path


def goertzel_power(samples, freq: float, rate: int = RATE) -> float:
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """One second of 440 Hz padded with silence, as WAV and as sox's own OGG, FLAC and MP3 of it."""
    folder = tmp_path_factory.mktemp("recordings")
    wav = write_wav(folder / "tone.wav", seconds=1.0)
    made = {"wav": wav.read_bytes()}
    for kind in ("ogg", "flac", "mp3"):
        target = folder / f"tone.{kind}"
        subprocess.run(["sox", str(wav), str(target)], check=True, capture_output=True)
        made[kind] = target.read_bytes()
    return made


@pytest.mark.parametrize("kind", ["wav", "ogg", "flac", "mp3"])
def test_upload_becomes_a_trimmed_normalised_8k_mono_prompt(tmp_path: Path, recordings: dict[str, bytes],
                                                           kind: str) -> None:
    library = PromptLibrary(tmp_path / "cache")
    samples = pcm(library.samples(library.from_upload(recordings[kind], f"hold-music.{kind}")))

    # The 0.3 s of silence each side is gone (the lead-in takes its place); MP3 decoders add a few ms of their own.
    assert peak(samples[:LEAD]) == 0
    samples = samples[LEAD:]
    assert 0.97 < len(samples) / RATE < 1.06
    # A steady tone's active level is its RMS: -26 dBov, so its peak sits 3 dB above that
    assert abs(peak(samples) - FULL_SCALE * 10 ** (-23 / 20)) < 0.03 * FULL_SCALE * 10 ** (-23 / 20)
    assert peak(samples[:EDGE]) > 0.1 * FULL_SCALE * 10 ** (-23 / 20)
    assert peak(samples[-EDGE:]) > 0.1 * FULL_SCALE * 10 ** (-23 / 20)
    # Still a 440 Hz tone at 8 kHz, i.e. mixed down and resampled rather than relabelled.
    middle = samples[RATE // 4: RATE // 4 + 800]
    assert goertzel_power(middle, 440) > 100 * goertzel_power(middle, 880)


def test_same_upload_is_converted_once(tmp_path: Path, recordings: dict[str, bytes], spy_path: Path) -> None:
    library = PromptLibrary(tmp_path / "cache")
    first = library.from_upload(recordings["wav"], "a.wav")
    again = library.from_upload(recordings["wav"], "renamed.wav")
    assert again == first
    assert len(runs(spy_path, "sox")) == 1
    assert cache_entries(tmp_path / "cache") == [first.name, first.name + ".sha256"]  # the file and its checksum


def test_upload_type_comes_from_content_not_name(tmp_path: Path, recordings: dict[str, bytes]) -> None:
    library = PromptLibrary(tmp_path / "cache")
    assert len(library.samples(library.from_upload(recordings["flac"], "greeting.wav"))) > RATE


def refused(library: PromptLibrary, data: bytes, name: str, why: str) -> None:
    with pytest.raises(PromptError, match=why) as caught:
        library.from_upload(data, name)
    assert repr(name) in str(caught.value)
    assert cache_entries(library.cache_dir) == []


def test_empty_upload_is_refused(tmp_path: Path) -> None:
    refused(PromptLibrary(tmp_path / "cache"), b"", "nothing.wav", "empty")


def test_unknown_upload_is_refused(tmp_path: Path) -> None:
    refused(PromptLibrary(tmp_path / "cache"), b"<html>not audio</html>" * 20, "page.mp3", "not a WAV")


@pytest.mark.parametrize("kind", ["wav", "ogg", "flac", "mp3"])
def test_corrupt_upload_is_refused_with_sox_reason(tmp_path: Path, recordings: dict[str, bytes],
                                                   kind: str) -> None:
    # The right magic bytes, then rubbish: sox gets to see it and fails.
    data = recordings[kind][:4] + bytes(range(256)) * 8
    if kind == "wav":
        data = b"RIFF\xff\xff\x00\x00WAVEjunk" + bytes(range(256)) * 8
    refused(PromptLibrary(tmp_path / "cache"), data, f"broken.{kind}", "sox|soxi")


def test_oversized_upload_is_refused_before_decoding(tmp_path: Path, recordings: dict[str, bytes],
                                                     spy_path: Path) -> None:
    library = PromptLibrary(tmp_path / "cache", max_upload_bytes=len(recordings["wav"]) - 1)
    refused(library, recordings["wav"], "big.wav", "more than the limit")
    assert runs(spy_path, "sox") == []


@pytest.mark.parametrize("kind", ["wav", "mp3"])
def test_too_long_upload_is_refused(tmp_path: Path, recordings: dict[str, bytes], kind: str) -> None:
    refused(PromptLibrary(tmp_path / "cache", max_seconds=1.2), recordings[kind], f"long.{kind}", "lasts")


def test_silent_upload_is_refused(tmp_path: Path) -> None:
    silent = write_wav(tmp_path / "silent.wav", seconds=0.5, amplitude=0.0)
    refused(PromptLibrary(tmp_path / "cache"), silent.read_bytes(), "silent.wav", "silent")


def test_missing_espeak_is_a_prompt_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    library = PromptLibrary(tmp_path / "cache")
    with pytest.raises(PromptError, match="espeak-ng is not installed"):
        library.from_text("Hello", "en")
    assert cache_entries(tmp_path / "cache") == []


def test_hung_sox_is_stopped_and_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          recordings: dict[str, bytes]) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "soxi").write_text("#!/bin/sh\nexec sleep 30\n")
    (bin_dir / "soxi").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(convert, "SOX_TIMEOUT", 0.5)
    refused(PromptLibrary(tmp_path / "cache"), recordings["wav"], "slow.wav", "took longer than 0.5 s")
