"""The simulation's caller is one voice per line, as on a real line: what they say as a recording starts,
before the box's capture thread has opened the line again, is in the recording (a loaded machine opens late)."""

from __future__ import annotations

import queue
import threading

from appliance.audio.recorder import AlsaRecorder
from appliance.sim.simulation import Simulation
from tests.support.waiting import wait_until


def test_a_caller_who_speaks_before_the_capture_opens_again_is_recorded(tmp_path):
    simulation = Simulation({"lines": []})
    may_open = threading.Event()

    def open_late(device: str, rate: int, period_frames: int):
        may_open.wait(10)  # the capture thread, run late by a loaded machine
        return simulation.open_capture(device, rate, period_frames)

    events: queue.Queue = queue.Queue()
    recorder = AlsaRecorder("gsm1", "sim:gsm1", post=events.put, open_pcm=open_late)
    try:
        # A first message nobody speaks into: it ends on silence, and the capture closes until the next one.
        may_open.set()
        recorder.start(str(tmp_path / "first.flac"), max_seconds=30, silence_seconds=0.3, min_seconds=0.1)
        assert events.get(timeout=10).reason == "too short"
        wait_until(lambda: recorder._pcm is None, 5, "the capture closed between recordings")
        # The next caller hears the beep and speaks at once; the capture thread opens the line after that.
        may_open.clear()
        recorder.start(str(tmp_path / "message.flac"), max_seconds=30, silence_seconds=5, min_seconds=1)
        heard = recorder.frames_captured
        simulation.microphones["gsm1"].speak(2.0)
        may_open.set()
        wait_until(lambda: recorder.frames_captured >= heard + 8000 * 2.3, 10, "the caller's 2 s read")
        recorder.key("#")
        done = events.get(timeout=30)
        assert done.path == str(tmp_path / "message.flac"), done  # not "too short": the speech is in it
        assert done.seconds >= 1.9
    finally:
        may_open.set()
        recorder.close()
        simulation.close()
