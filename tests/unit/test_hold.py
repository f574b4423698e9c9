"""Music on hold, checked sample by sample: music keeps its place, announcements arrive on time."""

from __future__ import annotations

import math
from array import array
from itertools import islice

import pytest

from appliance.audio.hold import HoldProgram

RATE = 8000
PERIOD = 320  # bytes: one 20 ms ALSA period at 8 kHz


def pcm(values) -> bytes:
    return array("h", values).tobytes()


def played(program: HoldProgram, seconds: float) -> array:
    count = round(seconds * RATE * 2 / PERIOD)
    chunks = list(islice(program.chunks(PERIOD), count))
    assert {len(c) for c in chunks} == {PERIOD}
    out = array("h")
    out.frombytes(b"".join(chunks))
    return out


# Music samples count up from 1, announcements are negative: every sample says where it came from.
MUSIC = list(range(1, 3001))  # 0.375 s, shorter than the announcement interval so it must loop


def test_music_loops_and_resumes_where_it_stopped_after_each_announcement() -> None:
    program = HoldProgram(pcm(MUSIC), lambda: pcm([-7] * 800), every_seconds=0.5, rate=RATE)
    out = played(program, 3.0)

    music_run = RATE // 2
    expected: list[int] = []
    position = 0
    while len(expected) < len(out):
        expected += [MUSIC[(position + i) % len(MUSIC)] for i in range(music_run)]
        position += music_run
        expected += [-7] * 800
    assert out.tolist() == expected[: len(out)]


def test_announcement_is_asked_for_when_due_so_it_can_change() -> None:
    place = [3]
    program = HoldProgram(pcm(MUSIC), lambda: pcm([-place[0]] * 400), every_seconds=1.0, rate=RATE)
    stream = program.chunks(PERIOD)
    first = array("h", b"".join(islice(stream, 75)))  # 1.5 s: one second of music, then the announcement
    place[0] = 2  # the queue moved on while the caller listened to music
    later = array("h", b"".join(islice(stream, 75)))

    assert first.tolist().index(-3) == RATE
    assert [s for s in first if s < 0] == [-3] * 400
    assert [s for s in later if s < 0] == [-2] * 400
    # The second announcement also follows exactly one second of music.
    assert len(first) + later.tolist().index(-2) - (RATE + 400) == RATE


def test_nothing_to_announce_means_music_plays_straight_on() -> None:
    out = played(HoldProgram(pcm(MUSIC), lambda: None, every_seconds=0.1, rate=RATE), 1.0)
    assert out.tolist() == [MUSIC[i % len(MUSIC)] for i in range(len(out))]


def test_infinite_interval_plays_music_alone() -> None:
    calls = []
    program = HoldProgram(pcm(MUSIC), lambda: calls.append(1), every_seconds=math.inf, rate=RATE)
    out = played(program, 1.0)
    assert out.tolist() == [MUSIC[i % len(MUSIC)] for i in range(len(out))]
    assert calls == []


def test_period_that_does_not_divide_the_music_still_gives_whole_periods() -> None:
    program = HoldProgram(pcm([5] * 333), lambda: pcm([-1] * 77), every_seconds=0.01, rate=RATE)
    chunks = list(islice(program.chunks(162), 50))
    assert {len(c) for c in chunks} == {162}


@pytest.mark.parametrize(("music", "every", "named"), [
    (b"", 1.0, "empty"),
    (b"\x01\x00\x02", 1.0, "odd length 3"),
    (pcm([1, 2]), 0.0, "interval"),
    (pcm([1, 2]), float("nan"), "interval"),
])
def test_bad_hold_setup_is_refused(music: bytes, every: float, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        HoldProgram(music, lambda: None, every_seconds=every)


@pytest.mark.parametrize("period", [0, -2, 161])
def test_bad_period_is_refused(period: int) -> None:
    with pytest.raises(ValueError, match=str(period)):
        HoldProgram(pcm(MUSIC), lambda: None, every_seconds=1.0).chunks(period)


def test_odd_announcement_is_refused_rather_than_shifting_the_music_by_a_byte() -> None:
    program = HoldProgram(pcm(MUSIC), lambda: b"\x01\x02\x03", every_seconds=0.01, rate=RATE)
    with pytest.raises(ValueError, match="announcement"):
        list(islice(program.chunks(PERIOD), 10))
