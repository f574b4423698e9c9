"""Keys through the mobile codecs a call crosses (GSM 06.10 full rate, AMR-NB 12.2), encoded and decoded by sox.

The caller's phone sends keys of 40 ms and more at Q.24's edge twists (+4 and -8 dB); the codec smears their
first frames and tilts their twist. The receiver must still hear them, and still hear nothing in speech or
music that went through the same codecs.
"""

from __future__ import annotations

import difflib

import numpy as np
import pytest

from appliance.audio.dtmf import DtmfDetector
from tests.support.dtmf_signals import (
    ALL_DIGITS,
    MORE_SPEECH,
    music,
    pcm,
    sequence,
    speech,
    through_codec,
    two_note_music,
    with_noise,
)


def heard(signal: np.ndarray) -> str:
    """The digits, fed in the 100 ms periods a line captures."""
    detector = DtmfDetector(8000)
    data = pcm(signal)
    return "".join(d for start in range(0, len(data), 1600) for d in detector.feed(data[start:start + 1600]))


def found(ms: int, codec: str | None, lead_ms: int = 100) -> tuple[int, int]:
    """(keys found in order, extra digits) over all 16 keys at twist 0, +4 and -8 dB, two noise seeds.

    With the default lead every key starts on a boundary of the codec's 20 ms frames (the hardest case for
    GSM 06.10: a 40 ms key is then exactly two frames, the first coded with an empty long-term predictor)."""
    hits = extra = 0
    for twist in (0, 4, -8):
        for seed in (1, 2):
            keys = sequence(ALL_DIGITS, tone_ms=ms, gap_ms=40, level_db=-20, twist_db=twist, lead_ms=lead_ms)
            signal = with_noise(keys, 20, seed=seed)
            got = heard(through_codec(signal, codec) if codec else signal)
            matched = sum(b.size for b in difflib.SequenceMatcher(None, got, ALL_DIGITS).get_matching_blocks())
            hits, extra = hits + matched, extra + len(got) - matched
    return hits, extra


@pytest.mark.slow
@pytest.mark.parametrize("ms", [40, 50])
def test_keys_through_amr_nb_are_found_as_often_as_on_a_clean_line(ms: int) -> None:
    clean = found(ms, None)
    assert clean == (96, 0)
    hits, extra = found(ms, "amr")
    assert (hits, extra) == clean  # measured: 96 of 96 at 40 and 50 ms (95 at 40 ms before issue 19's last round)


@pytest.mark.slow
@pytest.mark.parametrize("ms", [40, 50])
def test_keys_through_gsm_full_rate_are_found_as_often_as_on_a_clean_line(ms: int) -> None:
    """GSM 06.10 leaves a 40 ms key only 20-30 ms of clean tone: 57/96 (40 ms) and 75/96 (50 ms) were found
    before the limits took the codec into account, 67 and 88 with them; 84 and 95 with a 23.75 ms frame and one
    clear frame enough; 95 and 96 with one passing frame in 33 ms of sound enough and twist limits of +10/-16 dB;
    96 and 96 with the share read as the tones' band energy (issue 19). The last one found, key 3 sent at +4 dB,
    comes out with its high tone 2-2.6 % off pitch and its level stepping inside a frame (docs/dtmf.md)."""
    assert found(ms, "gsm") == (96, 0)


@pytest.mark.slow
@pytest.mark.parametrize(("ms", "lead_ms"), [(40, 105), (40, 115), (50, 110)])
def test_keys_off_the_gsm_frame_boundaries_are_all_found(ms: int, lead_ms: int) -> None:
    """A caller's key starts anywhere in the codec's 20 ms frames: 40 ms keys 5 and 15 ms into one were found 95
    of 96 times before issue 19's last round, 50 ms keys 10 ms into one 93 times; all are found now."""
    assert found(ms, "gsm", lead_ms) == (96, 0)


@pytest.mark.slow
def test_a_key_sent_at_minus_8_db_twist_survives_gsm() -> None:
    keys = sequence(ALL_DIGITS, tone_ms=100, gap_ms=60, level_db=-20, twist_db=-8)
    assert heard(through_codec(keys, "gsm")) == ALL_DIGITS


def test_a_noisy_key_whose_tones_gsm_leaves_at_87_percent_of_the_sound_is_found() -> None:
    """A held-out case of bench/dtmf_corpus.py (lead 117, twist 0, seed 5, key level -10 dB at 15 dB SNR): through
    GSM 06.10 key 4's tones carry 87-88 % of its frames' energy, under the 89 % floor the share had."""
    keys = with_noise(sequence(ALL_DIGITS, tone_ms=40, gap_ms=40, level_db=-10, twist_db=0, lead_ms=117), 15, seed=5)
    assert heard(keys) == ALL_DIGITS
    assert heard(through_codec(keys, "gsm")) == ALL_DIGITS


@pytest.mark.slow
@pytest.mark.parametrize("codec", ["gsm", "amr"])
def test_speech_and_music_through_the_codecs_give_no_digit(codec: str) -> None:
    for sentence in speech(8000):
        assert heard(through_codec(sentence, codec)) == ""
        assert heard(through_codec(sentence * (0.95 / np.abs(sentence).max()), codec)) == ""
    assert heard(through_codec(music(seconds=8), codec)) == ""
    # Chords built on DTMF pairs lose the harmonics that set them apart in GSM's coarse quantiser: one of the
    # four is heard as a key (two were before the share read the tones' band energy), no more.
    assert heard(through_codec(two_note_music(), codec)) == ("D" if codec == "gsm" else "")


@pytest.mark.slow
def test_more_voices_clean_and_through_both_codecs_give_no_digit() -> None:
    """The twist limits are wider than practice (docs/dtmf.md): other languages, pitches and speeds, at their
    loudest, must still give no digit, clean or through either codec."""
    for sentence in speech(8000, MORE_SPEECH):
        loud = sentence * (0.95 / np.abs(sentence).max())
        assert heard(loud) == ""
        for codec in ("gsm", "amr"):
            assert heard(through_codec(loud, codec)) == "", codec
