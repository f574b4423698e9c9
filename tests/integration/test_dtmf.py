"""The software DTMF receiver against ITU-T Q.24's figures, talk-off, WAV files and the command."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from appliance.audio.dtmf import DtmfDetector, DtmfFileError, decode_file, main
from tests.support.dtmf_signals import (
    ALL_DIGITS,
    music,
    pcm,
    resample,
    sequence,
    silence,
    speech,
    tone,
    two_note_music,
    with_noise,
    write_wav,
)

REPO = Path(__file__).resolve().parents[2]


def heard(signal: np.ndarray, rate: int = 8000, period_ms: float = 20) -> str:
    """What the receiver reports when the signal arrives in capture periods, as on a line."""
    detector = DtmfDetector(rate)
    data, step = pcm(signal), 2 * round(rate * period_ms / 1000)
    return "".join(
        d for start in range(0, len(data), step) for d in detector.feed(data[start : start + step])
    )


def test_every_key_is_reported_once_while_its_tone_is_still_sounding() -> None:
    detector, reports = DtmfDetector(), []
    lead, tone_ms, gap_ms = 100, 60, 60
    data = pcm(sequence(ALL_DIGITS, tone_ms=tone_ms, gap_ms=gap_ms, lead_ms=lead))
    for period, start in enumerate(range(0, len(data), 320)):
        reports += [(period * 20, digit) for digit in detector.feed(data[start : start + 320])]
    assert "".join(d for _, d in reports) == ALL_DIGITS
    for i, (at_ms, _) in enumerate(reports):
        tone_start = lead + i * (tone_ms + gap_ms)
        assert tone_start <= at_ms <= tone_start + tone_ms  # confirmed within the key press, not after it


@pytest.mark.parametrize("chunk_bytes", [1, 3, 77, 320, 1 << 20])
def test_chunk_size_does_not_change_the_digits(chunk_bytes: int) -> None:
    data = pcm(with_noise(sequence("159D#", tone_ms=45, gap_ms=45), 15))
    detector = DtmfDetector()
    digits = [
        d
        for start in range(0, len(data), chunk_bytes)
        for d in detector.feed(data[start : start + chunk_bytes])
    ]
    assert "".join(digits) == "159D#"


@pytest.mark.parametrize("offset", [-0.015, 0.015])
def test_tones_off_by_1_5_percent_are_accepted(offset: float) -> None:
    assert heard(sequence(ALL_DIGITS, offset=offset)) == ALL_DIGITS
    assert heard(sequence(ALL_DIGITS, offset=offset, high_offset=-offset)) == ALL_DIGITS


@pytest.mark.parametrize("offset", [-0.035, 0.035])
def test_tones_off_by_3_5_percent_are_rejected(offset: float) -> None:
    assert heard(sequence(ALL_DIGITS, offset=offset)) == ""
    assert heard(sequence(ALL_DIGITS, offset=offset, high_offset=0.0)) == ""  # one tone off is enough
    assert heard(sequence(ALL_DIGITS, offset=0.0, high_offset=offset)) == ""


def test_40_ms_tones_with_40_ms_pauses_are_detected() -> None:
    assert heard(sequence(ALL_DIGITS, tone_ms=40, gap_ms=40)) == ALL_DIGITS


def test_20_ms_tones_are_rejected() -> None:
    assert heard(sequence(ALL_DIGITS, tone_ms=20, gap_ms=40)) == ""
    assert heard(with_noise(sequence(ALL_DIGITS, tone_ms=20, gap_ms=40), 15)) == ""
    # Starting 6 ms in, a 20 ms tone spreads over six sub-blocks with a fifth of the others' energy at each end:
    # two frames in a row each pass the 20 % steadiness, and the band-energy share no longer refuses such a
    # partly filled frame (docs/dtmf.md). Two frames in a row need 25 %.
    assert heard(with_noise(sequence(ALL_DIGITS, tone_ms=20, gap_ms=40, lead_ms=106), 15, seed=3)) == ""


def test_a_40_ms_pause_separates_repeated_digits() -> None:
    assert heard(sequence("1111", tone_ms=40, gap_ms=40)) == "1111"
    assert heard(with_noise(sequence("0000", tone_ms=50, gap_ms=40), 15)) == "0000"


def test_a_long_key_press_in_noise_is_one_digit() -> None:
    press = np.concatenate((silence(100), tone("9", 3000), silence(100)))
    assert heard(with_noise(press, 15, seed=5)) == "9"


def test_a_10_ms_drop_out_does_not_split_a_key_press() -> None:
    press = np.concatenate((silence(100), tone("7", 100), silence(10), tone("7", 100), silence(100)))
    assert heard(press) == "7"


@pytest.mark.parametrize("twist_db", [4.0, -8.0])
def test_twist_within_q24_limits_is_tolerated(twist_db: float) -> None:
    assert heard(sequence(ALL_DIGITS, twist_db=twist_db)) == ALL_DIGITS
    assert heard(with_noise(sequence(ALL_DIGITS, twist_db=twist_db, offset=0.015), 15)) == ALL_DIGITS


def test_twist_far_beyond_the_limits_is_refused() -> None:
    """The limits (+10/-16 dB, wider than Q.24's +4/-8 for the codecs' sake: docs/dtmf.md) still refuse a pair
    whose tones are far apart in level, as two formants of speech can be."""
    assert heard(sequence(ALL_DIGITS, twist_db=14.0)) == ""
    assert heard(sequence(ALL_DIGITS, twist_db=-20.0)) == ""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_short_tones_are_detected_at_15_db_snr(seed: int) -> None:
    noisy = with_noise(sequence(ALL_DIGITS, tone_ms=40, gap_ms=40), 15, seed=seed)
    assert heard(noisy) == ALL_DIGITS


def test_quiet_tones_are_detected_and_near_silence_is_not() -> None:
    assert heard(sequence(ALL_DIGITS, level_db=-40)) == ALL_DIGITS
    assert heard(sequence(ALL_DIGITS, level_db=-55)) == ""


@pytest.mark.parametrize("rate", [16000, 22050, 44100])
def test_other_sample_rates(rate: int) -> None:
    assert (
        heard(with_noise(sequence(ALL_DIGITS, tone_ms=40, gap_ms=40, rate=rate), 15), rate=rate) == ALL_DIGITS
    )


@pytest.fixture(scope="module")
def spoken() -> list[np.ndarray]:
    return speech(8000)


def test_speech_does_not_talk_off(spoken: list[np.ndarray]) -> None:
    for sentence in spoken:
        assert heard(sentence) == ""
        assert heard(sentence * (0.95 / np.abs(sentence).max())) == ""  # at the loudest it can be


def test_digits_are_heard_over_speech_15_db_below_them(spoken: list[np.ndarray]) -> None:
    keys = sequence("2580" * 3, tone_ms=60, gap_ms=60, level_db=-6)
    key_power = np.mean(keys[keys != 0] ** 2)
    for sentence in spoken:
        talk = np.resize(sentence, keys.size)
        talk *= np.sqrt(key_power / 10 ** (15 / 10) / np.mean(talk**2))
        assert heard(keys + talk) == "2580" * 3


def test_music_does_not_talk_off() -> None:
    assert heard(music(seconds=8)) == ""
    assert heard(two_note_music()) == ""  # chords right on DTMF pairs, but with an instrument's harmonics
    assert heard(resample(music(seconds=4), 8000, 44100), rate=44100) == ""


def judged_and_shared(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """(frames judged past the frequency rule per batch, frames whose share was worked out per batch), as the
    receiver goes."""
    from appliance.audio import dtmf_tones
    from appliance.audio.dtmf import DtmfBank

    judged: list[int] = []
    shared: list[int] = []
    judge, share = DtmfBank._judge, dtmf_tones.ToneMeter.band_energy
    monkeypatch.setattr(DtmfBank, "_judge",
                        lambda self, near, *rest: judged.append(len(near)) or judge(self, near, *rest))
    monkeypatch.setattr(dtmf_tones.ToneMeter, "band_energy",
                        lambda self, summed, at, tones: shared.append(len(at)) or share(self, summed, at, tones))
    return judged, shared


def test_talk_with_no_tone_at_key_power_skips_the_rest_of_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The frequency rule is tried alone first, over every frame at once: only the few frames of talk that pass it
    are judged further, and none of them reaches the share (the costly step), so a line that talks all the time
    costs a fraction of a full batch."""
    judged, shared = judged_and_shared(monkeypatch)
    t = np.arange(8000 * 2) / 8000
    voice_like = 0.18 * np.sin(2 * np.pi * 220 * t) + 0.09 * np.sin(2 * np.pi * 440 * t)  # the simulated caller
    assert heard(voice_like, period_ms=100) == ""
    assert sum(judged) <= 0.01 * len(t) / 38  # of ~420 frames
    assert shared == []
    assert heard(np.concatenate((voice_like, sequence("5#"))), period_ms=100) == "5#"  # keys still go all the way
    assert shared


def test_lines_talking_together_skip_the_rest_of_the_rules_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four lines decided in one batch, as the daemon's engine does: the frames across two lines' audio (dropped
    anyway) must not make the batch go all the way."""
    from appliance.audio.dtmf import DtmfBank

    judged, shared = judged_and_shared(monkeypatch)
    t = np.arange(8000 * 2) / 8000
    talk = [pcm(0.18 * np.sin(2 * np.pi * 220 * (t + lag)) + 0.09 * np.sin(2 * np.pi * 440 * (t + lag)))
            for lag in np.array([0, 22, 45, 74]) / 8000]  # four callers, each at their own phase
    bank = DtmfBank(8000)
    states = [bank.state() for _ in talk]
    for at in range(0, len(talk[0]), 1600):
        assert bank.detect([(state, line[at:at + 1600]) for state, line in zip(states, talk, strict=True)]) \
            == [[], [], [], []]
    assert sum(judged) <= 0.01 * 4 * len(t) / 38  # of ~1,680 frames (those across two lines: 45 in 20 batches)
    assert shared == []  # (across two lines: in 10 of 20 batches)


def test_rate_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="1000"):
        DtmfDetector(1000)


def test_importing_the_module_does_not_load_numpy() -> None:
    code = "import sys, appliance.audio.dtmf; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- WAV files ---------------------------------------------------------------------------------------------


def test_decode_mono_8khz_wav(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "keys.wav", with_noise(sequence("0123456789*#ABCD"), 20), rate=8000)
    assert decode_file(str(path)) == "0123456789*#ABCD"


def test_decode_stereo_44100_wav_with_keys_on_one_channel(tmp_path: Path) -> None:
    path = write_wav(
        tmp_path / "keys.wav", sequence("4711#", rate=44100, tone_ms=50, gap_ms=50), 44100, channels=2
    )
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 44100)
    assert decode_file(str(path)) == "4711#"


def test_decode_8_bit_wav(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "keys.wav", sequence("90*", rate=22050), 22050, width=1)
    assert decode_file(str(path)) == "90*"


def test_decode_file_without_keys_is_empty(tmp_path: Path) -> None:
    assert decode_file(str(write_wav(tmp_path / "music.wav", music(seconds=2)))) == ""


def _empty_wav(path: Path) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)


def _24_bit_wav(path: Path) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(3)
        wav.setframerate(8000)
        wav.writeframes(b"\0" * 3000)


def _low_rate_wav(path: Path) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(2000)
        wav.writeframes(b"\0" * 4000)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.write_text("1,2,3\n"), "not a PCM WAV"),
        (lambda p: p.write_bytes(b"RIFF\x10\0\0\0WAVE"), "not a PCM WAV"),
        (_empty_wav, "no audio"),
        (_24_bit_wav, "24 bits"),
        (_low_rate_wav, "2000 Hz"),
        (lambda p: p.mkdir(), "cannot read"),
        (lambda p: None, "no such file"),
    ],
)
def test_bad_files_are_named_with_the_problem(tmp_path: Path, make, problem: str) -> None:
    path = tmp_path / "input.wav"
    make(path)
    with pytest.raises(DtmfFileError, match=problem) as caught:
        decode_file(str(path))
    assert str(path) in str(caught.value)


def test_main_prints_the_digits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_wav(tmp_path / "call.wav", sequence("112#"), 8000)
    assert main([str(path)]) == 0
    assert capsys.readouterr().out == "112#\n"


def test_main_reports_a_bad_file_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("not audio")
    assert main([str(path)]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert str(path) in out.err and "not a PCM WAV" in out.err


def test_command_line_in_a_real_process(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "call.wav", sequence("*31#", rate=22050), 22050, channels=2)
    ok = subprocess.run(
        [sys.executable, "-m", "appliance.audio.dtmf", str(path)], cwd=REPO, capture_output=True, text=True
    )
    assert (ok.returncode, ok.stdout) == (0, "*31#\n")
    missing = subprocess.run(
        [sys.executable, "-m", "appliance.audio.dtmf", str(tmp_path / "none.wav")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1 and "none.wav: no such file" in missing.stderr
