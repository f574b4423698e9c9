"""The one software DTMF receiver all lines share: ready before the first call, batched, gated, exact."""

from __future__ import annotations

import copy
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from appliance import config as configuration
from appliance.audio.dtmf import DtmfDetector
from appliance.audio.dtmf_engine import DtmfEngine
from appliance.service import control
from tests.support.dtmf_signals import ALL_DIGITS, music, pcm, sequence, silence, tone, with_noise
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]

# A fresh interpreter (numpy not loaded yet, as in a daemon after boot) with a capture card that behaves
# like real hardware: audio arrives in real time from the first read, and a reader more than the ALSA
# buffer (8 periods, 160 ms) behind loses it (an overrun), as a Pi's card does.
FIRST_CALL = """
import queue, sys, time
sys.path.insert(0, {repo!r})
from appliance.audio.recorder import AlsaRecorder, CAPTURE_PERIODS

AUDIO = open({audio!r}, "rb").read()

class RealTimeCard:
    def __init__(self, device, rate, period):
        self.rate, self.period, self.started, self.done = rate, period, None, 0

    def read(self):
        if self.started is None:
            self.started = time.monotonic()
        arrived = int((time.monotonic() - self.started) * self.rate) // self.period
        if arrived - self.done > CAPTURE_PERIODS:
            self.done = arrived  # overrun: what the buffer could not hold is gone
            return -32, b""
        if arrived <= self.done:  # a real card: the next period arrives only when its time has come
            time.sleep((self.done + 1) * self.period / self.rate - (time.monotonic() - self.started))
        start = self.done * self.period * 2
        self.done += 1
        return self.period, AUDIO[start:start + self.period * 2].ljust(self.period * 2, b"\\0")

    def close(self):
        pass

events = queue.Queue()
rec = AlsaRecorder("gsm1", "card", post=events.put, open_pcm=RealTimeCard, detect_dtmf=True)
rec.open()
print("numpy loaded before the call:", "numpy" in sys.modules, flush=True)
rec.listen()  # the first call after boot is answered
heard, until = "", time.monotonic() + 3
while time.monotonic() < until:
    try:
        heard += events.get(timeout=until - time.monotonic()).digit
    except queue.Empty:
        break
rec.close()
print("heard:", heard)
"""


def test_keys_at_the_very_start_of_the_first_call_after_boot_are_heard(tmp_path):
    audio = tmp_path / "caller.raw"
    audio.write_bytes(pcm(sequence("12", tone_ms=60, gap_ms=60, lead_ms=0)))  # a key from the first period
    script = FIRST_CALL.format(repo=str(REPO), audio=str(audio))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines() == ["numpy loaded before the call: True", "heard: 12"], out.stderr


def test_one_batch_serves_every_line_and_each_hears_only_its_own_keys():
    engine = DtmfEngine(batch_seconds=0.045)
    heard: dict[str, str] = {name: "" for name in ("a", "b", "c", "d")}
    keys = {"a": "123", "b": "456", "c": "", "d": "*0#"}
    listeners = {name: engine.attach(lambda d, n=name: heard.__setitem__(n, heard[n] + d)) for name in heard}
    audio = {name: pcm(sequence(keys[name]) if keys[name] else silence(500)) for name in heard}
    longest = max(len(a) for a in audio.values())
    for start in range(0, longest, 320):  # 20 ms periods, interleaved as four capture threads would send them
        for name, listener in listeners.items():
            listener.feed(audio[name][start:start + 320])
        time.sleep(0.02)  # the behaviour: periods arrive at a line's real pace, which is what batching counts on
    wait_until(lambda: all(heard[n] == keys[n] for n in heard), timeout=5)
    periods = longest // 320 + 1
    assert engine.batches <= periods / 2  # batches of 40-60 ms, not one per period and line


def test_lines_whose_periods_arrive_at_different_moments_share_one_batch_and_a_line_that_stops_holds_none():
    engine = DtmfEngine()
    keys = {"a": "12", "b": "34", "c": "56", "d": "78"}
    heard = {name: "" for name in keys}
    listeners = {name: engine.attach(lambda d, n=name: heard.__setitem__(n, heard[n] + d)) for name in keys}
    audio = {name: pcm(sequence(digits)) for name, digits in keys.items()}
    period = 1600  # 100 ms, as the daemon's lines capture
    rounds = max(len(a) for a in audio.values()) // period + 1
    for start in range(0, rounds * period, period):
        for name, listener in listeners.items():  # each card's period ends 25 ms after the previous one's
            listener.feed(audio[name][start:start + period].ljust(period, b"\0"))
            time.sleep(0.025)
    wait_until(lambda: heard == keys, timeout=5)
    assert engine.batches <= rounds + 2  # one batch per round of periods, not one per 45 ms of arrivals
    # the caller on line d hangs up: it feeds no more, and the others' keys are not held back for it
    more = pcm(sequence("9"))
    for start in range(0, len(more), period):
        for name in ("a", "b", "c"):
            listeners[name].feed(more[start:start + period].ljust(period, b"\0"))
        time.sleep(0.1)  # the behaviour: the three lines go on delivering a period every 100 ms
    wait_until(lambda: all(heard[n] == keys[n] + "9" for n in "abc"), timeout=2)


def test_the_energy_gate_changes_no_decision():
    """Gated lines are skipped only when no frame could hold a key, so the digits stay the same."""
    signal = np.concatenate((silence(300), with_noise(sequence(ALL_DIGITS, tone_ms=40, gap_ms=40), 15),
                             silence(300), sequence("1111", tone_ms=40, gap_ms=40, level_db=-40), music(2)))
    data = pcm(signal)
    detector = DtmfDetector()
    digits = "".join(d for start in range(0, len(data), 960) for d in detector.feed(data[start:start + 960]))
    assert digits == ALL_DIGITS + "1111"


def test_the_receiver_listens_while_the_flow_waits_for_keys_not_while_the_caller_talks_to_an_operator(start_box):
    document = copy.deepcopy(configuration.default_document())
    document["lines"][0]["software_dtmf"] = True
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    daemon, simulation = start_box(document)
    emulator, recorder = simulation.emulators["gsm1"], daemon.recorders["gsm1"]
    emulator.incoming_call("+79161234567")
    assert emulator.wait_for("ATA", timeout=5)
    emulator.send_dtmf("1")  # English, then the menu
    wait_until(lambda: recorder.frames_captured > 8000 * 0.3, what="the line listens in the menu")
    emulator.send_dtmf("1")  # legal questions: the desks ring
    desk = wait_until(lambda: next((h["id"] for h in status(daemon)["handsets"] if h["state"] == "ringing"),
                                   None), what="a desk rings", every=0.25, timeout=20)
    hook_pin = next(h["hook_pin"] for h in simulation.document["handsets"] if h["id"] == desk)
    simulation.pin_factory.pin(hook_pin).drive_low()  # the operator lifts
    wait_until(lambda: any(h["state"] == "on call" for h in status(daemon)["handsets"]),
               what="caller and operator connected")
    wait_until(lambda: not recorder._thread.is_alive() or _still(recorder), what="the capture stops")


def status(daemon) -> dict:
    """The status as the web page gets it: over the control socket, answered on the daemon's loop."""
    return control.call(daemon.control_path, "status")


def _still(recorder) -> bool:
    """No audio read for a while: nobody decodes the caller's talk with the operator."""
    before = recorder.frames_captured
    time.sleep(0.2)  # ten periods: the window in which a capture would show
    return recorder.frames_captured == before


def test_the_engine_wakes_no_thread_of_its_own_the_capture_thread_that_completes_a_batch_decides_it():
    """A thread's wakeup costs as much CPU as a line's detection, and its caches are cold: four lines at a real
    pace cost four capture wakeups per round of periods, and no fifth for the receiver."""
    before = set(threading.enumerate())
    engine = DtmfEngine()
    assert set(threading.enumerate()) == before  # no receiver thread
    keys = {"a": "12", "b": "34", "c": "56", "d": "78"}
    heard: dict[str, list[tuple[str, str]]] = {name: [] for name in keys}
    listeners = {name: engine.attach(lambda d, n=name: heard[n].append((d, threading.current_thread().name)))
                 for name in keys}
    audio = {name: pcm(sequence(digits)) for name, digits in keys.items()}
    period = 1600  # 100 ms periods, each line's from its own capture thread, as the daemon's lines capture

    def capture(name: str, delay: float) -> None:
        time.sleep(delay)  # each card's period ends 25 ms after the previous one's
        for start in range(0, len(audio[name]), period):
            listeners[name].feed(audio[name][start:start + period].ljust(period, b"\0"))
            time.sleep(0.1)
        listeners[name].pause()  # the call left the menu: what is queued is decided now, not left waiting

    threads = [threading.Thread(target=capture, args=(name, 0.025 * i), name=f"capture-{name}")
               for i, name in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert {name: "".join(d for d, _ in got) for name, got in heard.items()} == keys
    assert {thread for got in heard.values() for _, thread in got} <= {f"capture-{name}" for name in keys}


def test_a_line_that_stops_feeding_leaves_no_audio_waiting_for_the_next_call():
    """The last chunk before the flow stops listening is decided when the line pauses, not with the next
    call's first audio (where the old call's key would reach the new call)."""
    engine = DtmfEngine(batch_seconds=0.5)  # the line's last chunk is less than a batch: it waits for more
    heard: list[str] = []
    listener = engine.attach(heard.append)
    listener.feed(pcm(np.concatenate((silence(40), tone("5", 60), silence(30)))))
    assert heard == [] and engine.batches == 0
    listener.pause()
    assert heard == ["5"]
    batches = engine.batches
    listener.pause()  # nothing queued: nothing to decide
    assert engine.batches == batches
