"""Prompts through pyalsaaudio into ALSA's file plugin: the bytes a caller would hear."""

from __future__ import annotations

import queue
import time
from array import array

import pytest

from appliance.audio.player import AlsaPlayer
from appliance.core.events import PromptFinished
from tests.support.waiting import wait_until

PERIOD = 320  # bytes: 160 frames of 16-bit mono, 20 ms at 8 kHz


def ramp(seconds: float) -> bytes:
    return array("h", ((i * 37) % 20000 - 10000 for i in range(int(8000 * seconds)))).tobytes()


@pytest.fixture
def player(tmp_path):
    events: queue.Queue = queue.Queue()
    raw = tmp_path / "out.raw"
    p = AlsaPlayer("gsm1", f"file:FILE={raw},FORMAT=raw", post=events.put)
    p.open()
    yield p, raw, events
    p.close()


def test_a_prompt_reaches_the_pcm_byte_for_byte_and_reports_its_end(player):
    p, raw, events = player
    sound = ramp(0.25) + b"\x01\x00"  # not a whole number of periods: the tail is padded with silence
    p.play("hello", sound)
    assert events.get(timeout=5) == PromptFinished("gsm1", "hello")
    p.close()  # ALSA's file plugin writes a buffer behind; closing flushes it
    data = raw.read_bytes()
    assert data[:len(sound)] == sound
    assert len(data) % PERIOD == 0 and set(data[len(sound):]) <= {0}


def test_a_prompt_file_is_read_when_it_plays_and_a_lost_one_lets_the_call_go_on(player, tmp_path):
    p, raw, events = player
    cached = tmp_path / "tts-hello.raw"
    cached.write_bytes(ramp(0.1))
    p.play("hello", cached)
    assert events.get(timeout=5) == PromptFinished("gsm1", "hello")
    cached.unlink()  # the card lost the file between two calls
    p.play("hello", cached)
    assert events.get(timeout=5) == PromptFinished("gsm1", "hello")  # the flow is not left waiting on it
    p.close()
    assert raw.read_bytes()[:len(ramp(0.1))] == ramp(0.1)


def test_barge_in_stops_within_one_period_and_reports_nothing(player):
    p, raw, events = player
    p.play("menu", ramp(3.0))
    wait_until(lambda: p.frames_written > 0, what="the prompt playing")
    p.stop()
    written = p.frames_written
    time.sleep(0.3)  # the behaviour: over 0.3 s after the key, no more than the period in hand is written
    assert p.frames_written - written <= 160  # at most the period being written when the key came
    assert p.frames_written < 8000 * 0.6  # far less than the 3 s prompt
    with pytest.raises(queue.Empty):
        events.get(timeout=0.2)


def test_a_new_prompt_replaces_the_one_playing(player):
    p, raw, events = player
    p.play("long", ramp(3.0))
    wait_until(lambda: p.frames_written > 0, what="the long prompt playing")
    short = b"\x22\x11" * 800
    p.play("short", short)
    assert events.get(timeout=5) == PromptFinished("gsm1", "short")
    p.close()
    assert raw.read_bytes().endswith(short)
    assert len(raw.read_bytes()) < 8000 * 2 * 1.0


def test_a_looping_tone_plays_until_stopped(player):
    p, raw, events = player
    tone = b"\x10\x00" * 160
    p.play("tone:ringback", tone, loop=True)
    wait_until(lambda: p.frames_written >= 12 * 160, what="a dozen periods of the tone")
    p.stop()
    p.close()
    played = raw.read_bytes()
    assert len(played) >= 10 * PERIOD and played == tone * (len(played) // PERIOD)
    with pytest.raises(queue.Empty):
        events.get(timeout=0.1)


def test_playback_is_paced_like_a_real_line(player):
    p, raw, events = player
    p.play("second", ramp(1.0))
    time.sleep(0.3)  # the behaviour: real time passes, and only about that much of the prompt is written
    # ALSA's file plugin does not pace: without our pacing the whole second would be written at once.
    assert p.frames_written < 8000 * 0.8
    assert events.get(timeout=5) == PromptFinished("gsm1", "second")


def test_a_missing_sound_card_is_reported_at_open(tmp_path):
    p = AlsaPlayer("gsm1", "hw:CARD=NoSuchCard,DEV=0", post=lambda e: None)
    try:
        with pytest.raises(Exception, match="NoSuchCard|No such|not found|Unknown"):
            p.open()
    finally:
        p.close()
