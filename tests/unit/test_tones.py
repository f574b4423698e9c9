"""Call-progress tones: frequencies measured with a Goertzel filter, cadences from sample counts."""

from __future__ import annotations

import math
from array import array

import pytest

from appliance.audio.tones import tone

RATE = 8000
BLOCK = 40  # 5 ms blocks for finding where bursts start and stop

# (kind, country, frequencies, on/off seconds) as ITU-T E.180 lists them.
EXPECTED = [
    ("ringback", "ru", (425,), (0.8, 3.2)),
    ("busy", "ru", (425,), (0.4, 0.4)),
    ("congestion", "ru", (425,), (0.175, 0.175)),
    ("ringback", "us", (440, 480), (2.0, 4.0)),
    ("busy", "us", (480, 620), (0.5, 0.5)),
    ("congestion", "us", (480, 620), (0.25, 0.25)),
    ("ringback", "uk", (400, 450), (0.4, 0.2, 0.4, 2.0)),
    ("busy", "uk", (400,), (0.375, 0.375)),
    ("congestion", "uk", (400,), (0.4, 0.35, 0.225, 0.525)),
    ("ringback", "de", (425,), (1.0, 4.0)),
    ("busy", "de", (425,), (0.48, 0.48)),
    ("ringback", "fr", (440,), (1.5, 3.5)),
    ("busy", "fr", (440,), (0.5, 0.5)),
    ("ringback", "default", (425,), (1.0, 4.0)),
    ("busy", "default", (425,), (0.5, 0.5)),
    ("beep", "ru", (1000,), (0.3,)),
]
CANDIDATES = (350, 400, 425, 440, 450, 480, 620, 1000)


def pcm(data: bytes) -> array:
    samples = array("h")
    samples.frombytes(data)
    return samples


def amplitude_at(samples, freq: float, rate: int = RATE) -> float:
    """Goertzel estimate of the peak amplitude at `freq`; a Hann window keeps 25 Hz neighbours apart."""
    n = len(samples)
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for i, x in enumerate(samples):
        w = 0.5 - 0.5 * math.cos(2 * math.pi * i / (n - 1))
        s1, s2 = x * w + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 4 * math.sqrt(max(power, 0.0)) / n


def bursts(samples) -> list[float]:
    """Alternating on/off durations in seconds, read from 5 ms block levels."""
    levels = [max(abs(s) for s in samples[i:i + BLOCK]) > 1000 for i in range(0, len(samples), BLOCK)]
    runs: list[float] = []
    for i, on in enumerate(levels):
        if i and on == levels[i - 1]:
            runs[-1] += BLOCK / RATE
        else:
            runs.append(BLOCK / RATE)
    assert levels[0], "a cadence cycle starts with the tone"
    return runs


@pytest.mark.parametrize(("kind", "country", "freqs", "cadence"), EXPECTED)
def test_tone_has_the_country_frequencies_and_cadence(kind: str, country: str, freqs: tuple[int, ...],
                                                      cadence: tuple[float, ...]) -> None:
    samples = pcm(tone(kind, country))
    assert len(samples) == round(sum(cadence) * RATE)
    assert bursts(samples) == pytest.approx(cadence, abs=2 * BLOCK / RATE)

    first_burst = samples[: round(min(cadence[0], 0.2) * RATE)]
    for freq in CANDIDATES:
        level = amplitude_at(first_burst, freq) / 32767
        if freq in freqs:
            assert level > 0.15, f"{freq} Hz missing from {country} {kind}"
        else:
            assert level < 0.03, f"{freq} Hz should not sound in {country} {kind}"


def test_tone_is_loud_enough_but_never_clips() -> None:
    for kind, country, _, _ in EXPECTED:
        peak = max(abs(s) for s in pcm(tone(kind, country)))
        assert 0.2 * 32767 < peak < 0.7 * 32767


def rms(samples) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def test_bursts_fade_in_and_out_instead_of_clicking() -> None:
    samples = pcm(tone("busy", "ru"))
    burst = round(0.4 * RATE)
    steady = rms(samples[400:420])  # 2.5 ms, about one 425 Hz cycle
    assert rms(samples[:20]) < 0.5 * steady
    assert rms(samples[burst - 20:burst]) < 0.5 * steady


@pytest.mark.parametrize(("alias", "country"), [("na", "us"), ("NA", "us"), ("gb", "uk"), (" RU ", "ru")])
def test_country_aliases_give_the_same_tone(alias: str, country: str) -> None:
    assert tone("ringback", alias) == tone("ringback", country)


def test_higher_rate_keeps_the_same_duration_and_pitch() -> None:
    samples = pcm(tone("busy", "ru", rate=16000))
    assert len(samples) == 0.8 * 16000
    assert amplitude_at(samples[:3200], 425, rate=16000) / 32767 > 0.25


@pytest.mark.parametrize(("kind", "country", "named"), [
    ("ringback", "zz", "'zz'"),
    ("dialtone", "ru", "'dialtone'"),
])
def test_unknown_kind_or_country_is_named(kind: str, country: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        tone(kind, country)


def test_rate_too_low_for_the_tone_is_refused() -> None:
    with pytest.raises(ValueError, match="1000 Hz"):
        tone("beep", "us", rate=1500)


def test_a_tone_kept_in_the_cache_is_read_back_not_rendered_and_a_damaged_one_is_rendered_again(
        tmp_path, monkeypatch) -> None:
    """A start needs its tones before READY=1; rendering a ringback cycle sample by sample took 8-47 ms here.
    Kept in the prompt cache, a restart reads it (what makes it names the file, its SHA-256 beside it)."""
    from appliance.audio import tones

    fresh = tone("ringback", "ru", cache=tmp_path)
    assert fresh == tone("ringback", "ru")
    (kept,) = tmp_path.glob("tone-*.raw")
    rendered = []
    real = tones._render.__wrapped__
    monkeypatch.setattr(tones, "_render", lambda steps, rate: rendered.append(rate) or real(steps, rate))
    assert tone("ringback", "ru", cache=tmp_path) == fresh and rendered == []
    assert tone("ringback", "uk", cache=tmp_path) != fresh and rendered == [8000]  # another cadence, another file
    kept.write_bytes(fresh[: len(fresh) // 2])  # cut short by a power cut
    assert tone("ringback", "ru", cache=tmp_path) == fresh and rendered == [8000, 8000]
    assert kept.read_bytes() == fresh
