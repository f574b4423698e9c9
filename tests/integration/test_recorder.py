"""Voicemail through pyalsaaudio from ALSA's file plugin (`infile`): the caller's bytes, kept or discarded."""

from __future__ import annotations

import math
import queue
import random
import subprocess
import time
from array import array

import pytest

from appliance.audio.recorder import AlsaRecorder
from appliance.core.events import DtmfReceived, RecordingFinished
from tests.support.waiting import wait_until

RATE = 8000

# A capture PCM that reads its samples from a raw file: the file plugin's `infile`, behind an argument so
# each test names its own file. ALSA reloads its configuration when ALSA_CONFIG_PATH changes.
ASOUNDRC = """
pcm.caller {
  @args [ INFILE ]
  @args.INFILE { type string }
  type file
  slave.pcm null
  file "/dev/null"
  infile $INFILE
  format raw
}
"""


def voice(seconds: float, seed: int = 1) -> bytes:
    """Speech-loud noise (about -15 dBFS RMS): deterministic, and hard for FLAC to fake."""
    rnd = random.Random(seed)
    return array("h", (rnd.randint(-10000, 10000) for _ in range(round(RATE * seconds)))).tobytes()


def quiet(seconds: float) -> bytes:
    """Line hiss around -60 dBFS: silence to the recorder, but not digital zero."""
    rnd = random.Random(7)
    return array("h", (rnd.randint(-30, 30) for _ in range(round(RATE * seconds)))).tobytes()


def hash_key(seconds: float = 0.12) -> bytes:
    """The '#' key: 941 Hz + 1477 Hz, each at -9 dBFS."""
    amp = 0.35 * 32767
    return array("h", (
        round(amp * (math.sin(2 * math.pi * 941 * i / RATE) + math.sin(2 * math.pi * 1477 * i / RATE)))
        for i in range(round(RATE * seconds))
    )).tobytes()


def decoded(path: str) -> bytes:
    return subprocess.run(
        ["flac", "-d", "--silent", "--force-raw-format", "--endian=little", "--sign=signed", "-c", path],
        capture_output=True, check=True,
    ).stdout


@pytest.fixture
def line(tmp_path, monkeypatch):
    conf = tmp_path / "asoundrc"
    conf.write_text(ASOUNDRC)
    monkeypatch.setenv("ALSA_CONFIG_PATH", f"/usr/share/alsa/alsa.conf:{conf}")
    made: list[AlsaRecorder] = []

    def make(audio: bytes, **kw) -> tuple[AlsaRecorder, queue.Queue]:
        infile = tmp_path / "caller.raw"
        infile.write_bytes(audio)
        events: queue.Queue = queue.Queue()
        rec = AlsaRecorder("gsm1", f"caller:INFILE={infile}", post=events.put, **kw)
        made.append(rec)
        return rec, events

    yield make
    for rec in made:
        rec.close()


def finished(events: queue.Queue) -> RecordingFinished:
    while True:
        event = events.get(timeout=10)
        if isinstance(event, RecordingFinished):
            return event


def still(rec: AlsaRecorder) -> bool:
    """Nothing captured for 0.2 s (ten periods): the sleep is the window in which a capture would show."""
    before = rec.frames_captured
    time.sleep(0.2)
    return rec.frames_captured == before


def test_a_message_ends_on_silence_and_is_kept_losslessly_as_flac(line, tmp_path):
    message = voice(0.8)
    rec, events = line(message + quiet(3.0))
    target = tmp_path / "vm" / "2024" / "call-1.flac"
    rec.start(str(target), max_seconds=60, silence_seconds=0.5, min_seconds=0.5)
    done = finished(events)
    kept = 0.8 + 0.3  # the message and the tail after its last sound
    assert done == RecordingFinished("gsm1", str(target), pytest.approx(kept, abs=0.021), "silence")
    audio = decoded(str(target))
    assert audio[:len(message)] == message  # FLAC keeps every sample the caller said
    assert len(audio) == round(done.seconds * RATE) * 2
    assert sorted(p.name for p in target.parent.iterdir()) == ["call-1.flac"]  # no scratch files left


def test_hash_heard_in_the_audio_ends_the_message_and_is_reported_as_a_key(line, tmp_path):
    message = voice(0.6)
    rec, events = line(message + hash_key() + voice(2.0, seed=2), detect_dtmf=True)
    rec.start(str(tmp_path / "vm.flac"), max_seconds=60, silence_seconds=5, min_seconds=0.2)
    assert events.get(timeout=10) == DtmfReceived("gsm1", "#")
    done = finished(events)
    assert done.reason == "key" and done.path == str(tmp_path / "vm.flac")
    audio = decoded(done.path)
    assert audio == message[:len(audio)]  # the message without the key tone
    assert 0.35 <= done.seconds <= 0.6


def test_hash_from_the_modem_ends_the_message_but_not_a_call_recording(line, tmp_path):
    rec, events = line(voice(4.0))
    rec.start(str(tmp_path / "call.flac"), max_seconds=60, silence_seconds=math.inf, min_seconds=0,
              stop_on_key=False)
    wait_until(lambda: rec.frames_captured >= RATE * 0.3, what="0.3 s of the call recorded")
    rec.key("#")
    rec.key("5")
    assert rec.recording  # a whole-call recording ignores keys
    rec.start(str(tmp_path / "vm.flac"), max_seconds=60, silence_seconds=5, min_seconds=0)
    call = finished(events)
    assert call.reason == "stopped" and call.seconds >= 0.3  # replaced by the voicemail
    captured = rec.frames_captured
    wait_until(lambda: rec.frames_captured >= captured + RATE * 0.5, what="0.5 s of the message recorded")
    rec.key("5")
    assert rec.recording
    rec.key("#")
    vm = finished(events)
    assert vm.reason == "key" and vm.path == str(tmp_path / "vm.flac") and vm.seconds >= 0.2
    assert not rec.recording


def test_max_length_cuts_at_exactly_that_many_samples(line, tmp_path):
    sound = voice(2.0)
    rec, events = line(sound)
    rec.start(str(tmp_path / "vm.flac"), max_seconds=0.6, silence_seconds=5, min_seconds=0.5)
    done = finished(events)
    assert (done.reason, done.seconds) == ("max length", 0.6)
    assert decoded(done.path) == sound[:int(0.6 * RATE) * 2]


def test_a_message_shorter_than_the_minimum_is_discarded_and_leaves_no_file(line, tmp_path):
    rec, events = line(voice(0.2) + quiet(2.0))
    target = tmp_path / "vm" / "short.flac"
    rec.start(str(target), max_seconds=60, silence_seconds=0.4, min_seconds=1.0)
    done = finished(events)
    assert done == RecordingFinished("gsm1", None, pytest.approx(0.5, abs=0.021), "too short")
    assert list(target.parent.iterdir()) == []


def test_a_silent_caller_leaves_no_message(line, tmp_path):
    rec, events = line(quiet(2.0))
    rec.start(str(tmp_path / "vm.flac"), max_seconds=60, silence_seconds=0.5, min_seconds=0)
    assert finished(events) == RecordingFinished("gsm1", None, 0.0, "too short")


def test_hang_up_keeps_what_was_said_and_replaces_an_older_file_whole(line, tmp_path):
    target = tmp_path / "vm.flac"
    target.write_bytes(b"old message")
    rec, events = line(voice(4.0))
    rec.start(str(target), max_seconds=60, silence_seconds=5, min_seconds=0.2)

    def spoken_for_a_while() -> bool:
        assert target.read_bytes() == b"old message"  # never a half-written file under the name
        return rec.frames_captured >= RATE * 0.4

    wait_until(spoken_for_a_while, what="0.4 s of the message recorded")
    rec.stop()
    done = finished(events)
    assert done.reason == "stopped" and 0.4 <= done.seconds < 4.0
    assert len(decoded(str(target))) == round(done.seconds * RATE) * 2


def test_the_null_pcm_is_read_at_the_pace_of_a_real_line(tmp_path):
    events: queue.Queue = queue.Queue()
    rec = AlsaRecorder("gsm1", "null", post=events.put)
    try:
        began = time.monotonic()
        rec.start(str(tmp_path / "vm.flac"), max_seconds=0.5, silence_seconds=5, min_seconds=0)
        done = finished(events)
        # What `null` captures is not silence here (alsa-lib leaves the buffer as it was): only lengths count.
        assert (done.reason, done.seconds) == ("max length", 0.5)
        assert time.monotonic() - began >= 0.4  # 0.5 s of audio cannot arrive faster than 0.5 s
        wait_until(lambda: still(rec), timeout=2, what="an idle line capturing nothing")
    finally:
        rec.close()


def test_a_recording_after_an_idle_spell_is_still_read_at_the_pace_of_a_real_line(tmp_path):
    """The PCM is opened at start; a first message minutes later must not swallow that idle time at once
    (a silent caller's message then ended "too short" the instant it began, before they could speak)."""
    events: queue.Queue = queue.Queue()
    rec = AlsaRecorder("gsm1", "null", post=events.put)
    try:
        rec.open()
        time.sleep(1.0)  # the behaviour: the line waits idle for its first caller
        began = time.monotonic()
        rec.start(str(tmp_path / "vm.flac"), max_seconds=0.5, silence_seconds=5, min_seconds=0)
        assert finished(events).reason == "max length"
        assert time.monotonic() - began >= 0.4  # 0.5 s of audio cannot arrive faster than 0.5 s
    finally:
        rec.close()


def test_software_receiver_hears_keys_while_listening_and_not_after(line):
    rec, events = line(quiet(0.2) + hash_key() + quiet(0.3) + hash_key() + quiet(3.0), detect_dtmf=True)
    rec.listen()
    assert events.get(timeout=10) == DtmfReceived("gsm1", "#")
    assert events.get(timeout=10) == DtmfReceived("gsm1", "#")
    rec.stop_listening()
    wait_until(lambda: still(rec), timeout=2, what="capture stopped with the listening")


@pytest.mark.parametrize(("kw", "named"), [
    ({"max_seconds": 0, "silence_seconds": 1, "min_seconds": 0}, "max_seconds"),
    ({"max_seconds": 10, "silence_seconds": float("nan"), "min_seconds": 0}, "silence_seconds"),
    ({"max_seconds": 10, "silence_seconds": 1, "min_seconds": 11}, "min_seconds"),
])
def test_bad_limits_are_refused_by_name_and_nothing_records(line, tmp_path, kw, named):
    rec, events = line(voice(1.0))
    with pytest.raises(ValueError, match=named):
        rec.start(str(tmp_path / "vm.flac"), **kw)
    assert not rec.recording and list(tmp_path.glob("*vm*")) == []


def test_an_unwritable_path_is_refused_by_name(line, tmp_path):
    (tmp_path / "file").write_text("x")
    rec, events = line(voice(1.0))
    bad = tmp_path / "file" / "vm.flac"
    with pytest.raises(ValueError, match=str(bad)):
        rec.start(str(bad), max_seconds=10, silence_seconds=1, min_seconds=0)
    assert not rec.recording


def test_a_failing_encoder_is_reported_and_cleans_up(line, tmp_path):
    def broken(raw: str, dst: str, rate: int) -> None:
        subprocess.run(["flac", "--silent", "--no-such-option", raw], capture_output=True, check=True)

    rec, events = line(voice(2.0), encode=broken)
    rec.start(str(tmp_path / "vm.flac"), max_seconds=0.3, silence_seconds=5, min_seconds=0)
    done = finished(events)
    assert done.path is None and done.reason.startswith("failed: ") and done.seconds == 0.3
    assert [p.name for p in tmp_path.iterdir()] == ["asoundrc", "caller.raw"]
