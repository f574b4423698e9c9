"""A USB voice port on a real pseudo-terminal (pyserial opens the slave as it opens /dev/hotline/gsm1-audio)."""

from __future__ import annotations

import os
import threading
import time
import tty

import pytest

from appliance.audio.voice_port import FRAME_BYTES, VoicePort, VoicePortPlayer
from tests.support.waiting import wait_until


@pytest.fixture
def pty_port():
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    for fd in (master, slave):
        os.close(fd)


def modem_sends(master: int, frames: int) -> None:
    """The modem's side: one frame of its caller audio every 20 ms (here a count in each frame)."""
    for n in range(frames):
        os.write(master, bytes([n % 250 + 1]) * FRAME_BYTES)
        time.sleep(0.02)  # the modem's own clock


def test_a_recorder_starting_late_in_a_call_reads_fresh_frames_not_an_overrun(pty_port) -> None:
    master, path = pty_port
    voice = VoicePort("gsm1", path)
    capture = voice.capture(path, 8000, 800)  # the recorder's 100 ms periods
    sender = threading.Thread(target=modem_sends, args=(master, 100), daemon=True)
    try:
        sender.start()
        wait_until(lambda: voice.frames_heard >= 60, timeout=5, what="1.2 s of the call, more than the ring holds")
        frames, period = capture.read()
        assert frames == 800, "the first read of a recording is audio, not an overrun"
        assert len(period) == 1600 and period[0] > 60, "frames from now, not from before the recording"
    finally:
        sender.join()
        capture.close()


def test_a_prompt_waits_for_the_modem_to_switch_its_voice_on_then_plays_from_the_start(pty_port) -> None:
    master, path = pty_port
    voice = VoicePort("gsm1", path)
    done = []
    player = VoicePortPlayer("gsm1", voice, post=done.append)
    prompt = bytes(range(1, 201)) * 16  # 3200 bytes: ten frames, recognisable
    try:
        player.open()
        player.play("greeting", prompt)
        time.sleep(0.3)  # the modem has not switched yet: nothing may be written (it would be thrown away)
        os.set_blocking(master, False)
        with pytest.raises(BlockingIOError):
            os.read(master, 4096)
        sender = threading.Thread(target=modem_sends, args=(master, 40), daemon=True)
        sender.start()
        got = bytearray()

        def heard() -> bool:
            try:
                got.extend(os.read(master, 4096))
            except BlockingIOError:
                pass
            return prompt in got

        wait_until(heard, timeout=5, what="the whole prompt on the port")
        assert got.index(prompt) == 0, "from its first frame"
        wait_until(lambda: done, timeout=5, what="PromptFinished")
        sender.join()
    finally:
        player.close()
