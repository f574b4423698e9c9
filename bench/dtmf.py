"""DTMF receiver bench: our detector against multimon-ng on the same generated signals, and what four lines cost.

Prints, per case, the digits each one heard, then the cases right and the real-time factor (audio seconds per
processing second) of each.  It prints figures and asserts nothing.  `run()` returns them for bench/run.

`lines_cpu()` is the figure a user's box pays: a real daemon (simulated hardware, bench/simbox.py) in its own
process with four software-DTMF lines, a caller on each waiting in the menu and talking all the time (so the
energy gate never spares the receiver), its capture threads reading the periods it asks for (100 ms) at
real-time pace from cards a quarter period apart; the process's CPU time over the window, as a share of one
core.  `engine_cpu()` is the receiver alone on the same load (four lines in 45 ms batches), back to back: the
component figure.

    .venv/bin/python bench/dtmf.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

import numpy as np  # noqa: E402  (bench only; the detector itself imports numpy lazily)

from appliance.audio.dtmf import DtmfDetector  # noqa: E402
from tests.support.dtmf_signals import (  # noqa: E402
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
)

RATE = 8000  # the line rate our detector runs at in the appliance
MULTIMON_RATE = 22050  # multimon-ng's fixed raw input rate
PERIOD_MS = 20


def cases() -> list[tuple[str, str, np.ndarray]]:
    """(name, expected digits, signal at RATE): every Q.24 point the tests cover, plus talk-off material."""
    out = [
        ("16 keys, 60 ms", ALL_DIGITS, sequence(ALL_DIGITS)),
        ("offset +1.5 %", ALL_DIGITS, sequence(ALL_DIGITS, offset=0.015)),
        ("offset -1.5 %", ALL_DIGITS, sequence(ALL_DIGITS, offset=-0.015)),
        ("offset +3.5 % (reject)", "", sequence(ALL_DIGITS, offset=0.035)),
        ("offset -3.5 % (reject)", "", sequence(ALL_DIGITS, offset=-0.035)),
        ("40 ms tones, 40 ms pauses", ALL_DIGITS, sequence(ALL_DIGITS, tone_ms=40, gap_ms=40)),
        ("20 ms tones (reject)", "", sequence(ALL_DIGITS, tone_ms=20, gap_ms=40)),
        ("twist +4 dB", ALL_DIGITS, sequence(ALL_DIGITS, twist_db=4)),
        ("twist -8 dB", ALL_DIGITS, sequence(ALL_DIGITS, twist_db=-8)),
        ("level -40 dB", ALL_DIGITS, sequence(ALL_DIGITS, level_db=-40)),
        ("repeat 1111, 40 ms pauses", "1111", sequence("1111", tone_ms=40, gap_ms=40)),
        ("3 s key press, 15 dB SNR", "9", with_noise(np.concatenate((silence(100), tone("9", 3000))), 15)),
        ("10 ms drop-out", "7", np.concatenate((silence(100), tone("7", 100), silence(10), tone("7", 100)))),
        ("music", "", music(seconds=8)),
        ("chords on DTMF pairs", "", two_note_music()),
    ]
    short = sequence(ALL_DIGITS, tone_ms=40, gap_ms=40)
    out += [(f"40 ms tones, 15 dB SNR #{n}", ALL_DIGITS, with_noise(short, 15, n)) for n in (1, 2, 3)]
    if shutil.which("espeak-ng") and shutil.which("sox"):
        spoken = speech(RATE)
        out += [(f"speech #{i + 1}", "", s * (0.9 / np.abs(s).max())) for i, s in enumerate(spoken)]
        keys = sequence("2580" * 3, level_db=-6)
        talk = np.resize(spoken[3], keys.size)
        talk *= np.sqrt(np.mean(keys[keys != 0] ** 2) / 10 ** 1.5 / np.mean(talk**2))
        out.append(("keys over speech 15 dB below", "2580" * 3, keys + talk))
    # a trailing pause lets a decoder that reports on release (multimon-ng) finish the last key
    return [(name, expected, np.concatenate((signal, silence(200)))) for name, expected, signal in out]


def ours(signal: bytes, rate: int, period_bytes: int | None = None) -> tuple[str, float]:
    start = time.perf_counter()
    detector = DtmfDetector(rate)
    step = period_bytes or len(signal)
    digits = "".join(d for i in range(0, len(signal), step) for d in detector.feed(signal[i : i + step]))
    return digits, time.perf_counter() - start


def multimon(signal: bytes) -> tuple[str, float]:
    start = time.perf_counter()
    done = subprocess.run(["multimon-ng", "-q", "-a", "DTMF", "-t", "raw", "-"], input=signal,
                          capture_output=True, check=True)  # fmt: skip
    elapsed = time.perf_counter() - start
    lines = done.stdout.decode().splitlines()
    return "".join(line.split(":", 1)[1].strip() for line in lines if line.startswith("DTMF:")), elapsed


def run() -> dict:
    """Figures: per case what each decoder heard, cases right and real-time factor per decoder."""
    rows, total_seconds = [], 0.0
    have_multimon = shutil.which("multimon-ng") is not None
    for name, expected, signal in cases():
        total_seconds += signal.size / RATE
        row = {"case": name, "expected": expected, "ours": ours(pcm(signal), RATE)[0]}
        if have_multimon:
            row["multimon-ng"] = multimon(pcm(resample(signal, RATE, MULTIMON_RATE)))[0]
        rows.append(row)
    # speed on all cases back to back, so process start-up does not dominate multimon-ng's figure
    joined = np.concatenate([signal for _, _, signal in cases()])
    at_line_rate = pcm(joined)
    at_multimon_rate = pcm(resample(joined, RATE, MULTIMON_RATE))
    seconds = joined.size / RATE
    period = 2 * RATE * PERIOD_MS // 1000
    decoders: dict[str, dict] = {
        "ours": {
            "right": sum(r["ours"] == r["expected"] for r in rows),
            "rtf": seconds / best_of(lambda: ours(at_line_rate, RATE)[1]),
            "rtf_20ms_periods": seconds / best_of(lambda: ours(at_line_rate, RATE, period)[1]),
            "rtf_at_22050": seconds / best_of(lambda: ours(at_multimon_rate, MULTIMON_RATE)[1]),
        }
    }
    if have_multimon:
        decoders["multimon-ng"] = {
            "right": sum(r["multimon-ng"] == r["expected"] for r in rows),
            "rtf": seconds / best_of(lambda: multimon(at_multimon_rate)[1]),
        }
    return {"cases": rows, "total": len(rows), "audio_seconds": round(total_seconds, 1), "decoders": decoders}


# Run in a child process, so the figure is the daemon's process alone: the bench's own numpy work is not in it.
LINES_CPU = """
import itertools, sys, tempfile, time
from pathlib import Path
sys.path[:0] = [{repo!r}, {bench!r}]
import simbox
from appliance.sim.simulation import SimulatedMicrophone

class CardPacedMicrophone(SimulatedMicrophone):
    # A capture card's pace: read() blocks until the next period has arrived, as ALSA's does. Its own work is
    # a sleep and the next period, cut when the caller starts talking: a card's read is C code (alsa-lib,
    # pyalsaaudio), and the simulated one's Python (a lock, three copies, padding) cost ~35 µs a read after a
    # sleep here, 0.14 % of a core for four lines, counted as the daemon's (docs/proof.md, sixth session: dtmf3).
    # Each line is its own card: their periods fall a quarter period apart, not in step, as independent cards'
    # clocks do (in step, the four capture threads shared their wake-ups and the figure was ~0.1 % lower).
    # A read of a period that has already arrived returns at once, as alsa-lib's does: no sleep(0), which
    # gives up the CPU (a context switch a real card's read does not make; the daemon reads on a shared tick).
    due = None
    cards = 0

    def __init__(self, period_frames):
        super().__init__(period_frames)
        self.phase = CardPacedMicrophone.cards * period_frames / 4 / 8000
        CardPacedMicrophone.cards += 1
        self.periods = itertools.repeat(bytes(2 * period_frames))  # silence until the caller talks

    def talk(self, pcm, start):
        # Real speech, each caller from another place in it: a tone (the simulation's speak()) passed no
        # frame at key power, so every batch ended at the receiver's first rule, which real speech does not.
        size, pcm = 2 * self.period_frames, pcm[start:] + pcm[:start]
        cut = [pcm[at:at + size] for at in range(0, len(pcm) - size + 1, size)]
        self.periods = itertools.cycle(cut)

    def avail(self):
        # the frames it holds, as ALSA's avail() says: the periods that have arrived and were not read (the
        # daemon reads a line's period on another line's thread only when it is there, so the read cannot wait)
        if self.due is None:
            return 0
        return max(0, int((time.monotonic() - self.due) * 8000) // self.period_frames) * self.period_frames

    def read(self):
        if self.due is None:
            self.due = time.monotonic() + self.phase
        self.due += self.period_frames / 8000
        wait = self.due - time.monotonic()
        if wait > 0:  # a period that has arrived is handed over at once: sleep(0) would still switch threads
            time.sleep(wait)
        return self.period_frames, next(self.periods)

def open_capture(self, device, rate, period_frames):
    self.microphones[device.removeprefix("sim:")] = mic = CardPacedMicrophone(period_frames)
    return mic

simbox.Simulation.open_capture = open_capture
doc = simbox.document()
for line in doc["lines"]:
    line["software_dtmf"] = True
doc["flow"]["nodes"]["menu"]["timeout"] = 600  # the caller stays in the menu: the line listens for keys
with tempfile.TemporaryDirectory() as tmp, simbox.Box(Path(tmp), doc) as box:
    # the prompts are made after READY=1, on threads of this process: their making is not the receiver's cost
    assert box.daemon.prompts_made.wait(120)
    for line in simbox.LINES:
        box.simulation.emulators[line].incoming_call("+15550000" + line[-1])
    assert box.wait(lambda: len(box.status()["calls"]) == len(simbox.LINES), 30), box.status()
    time.sleep(0.5)  # the menu prompt (60 ms) has played
    talk = Path({talk!r}).read_bytes()
    for n, mic in enumerate(box.simulation.microphones.values()):
        mic.talk(talk, 2 * (n * len(talk) // 8))
    time.sleep(0.5)
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep({seconds})
    print(100 * (time.process_time() - cpu) / (time.monotonic() - wall))
"""


def lines_cpu(seconds: float) -> float:
    """% of one core the daemon process uses with 4 lines listening to talking callers at real-time pace."""
    with tempfile.TemporaryDirectory() as tmp:
        talk = Path(tmp) / "talk.raw"
        talk.write_bytes(pcm(talking(seconds)))
        script = LINES_CPU.format(repo=str(REPO), bench=str(REPO / "bench"), seconds=seconds, talk=str(talk))
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              timeout=120 + seconds)
    return float(done.stdout.strip().splitlines()[-1])


def talking(seconds: float) -> np.ndarray:
    """A caller talking for `seconds`: espeak-ng's sentences (music where it is missing), peaks at half scale."""
    talk = np.concatenate(speech(RATE)) if shutil.which("espeak-ng") else music(seconds=seconds)
    return np.resize(talk * (0.5 / np.abs(talk).max()), int(seconds * RATE))


def engine_cpu(seconds: float = 10.0, lines: int = 4) -> float:
    """% of one core the receiver alone needs for `lines` talking lines, fed in 45 ms batches back to back."""
    from appliance.audio.dtmf import DtmfBank

    bank = DtmfBank(RATE)
    talk = pcm(talking(seconds))
    states = [bank.state() for _ in range(lines)]
    batch = 2 * round(RATE * 0.045)
    start = time.process_time()
    for at in range(0, len(talk), batch):
        bank.detect([(state, talk[at : at + batch]) for state in states])
    return 100 * (time.process_time() - start) / seconds


def best_of(timed, repeats: int = 3) -> float:
    """The fastest of a few runs: the machine is shared, the slow runs measure the neighbours."""
    return min(timed() for _ in range(repeats))


def main() -> None:
    figures = run()
    names = list(figures["decoders"])
    print(f"{'case':32} {'expected':18} " + " ".join(f"{n:18}" for n in names))
    for row in figures["cases"]:
        marks = " ".join(f"{(row[n] or '-') + ('' if row[n] == row['expected'] else ' ✗'):18}" for n in names)
        print(f"{row['case']:32} {row['expected'] or '-':18} {marks}")
    print()
    for name, figs in figures["decoders"].items():
        extra = "".join(f", {k} {v:,.0f}×" for k, v in figs.items() if k.startswith("rtf_"))
        right = f"{figs['right']}/{figures['total']}"
        print(f"{name:12} right {right}  real-time factor {figs['rtf']:,.0f}×{extra}")
    print(f"({figures['audio_seconds']} s of audio; ours at {RATE} Hz, multimon-ng at {MULTIMON_RATE} Hz)")
    print(f"4 lines at real-time pace, daemon process: {lines_cpu(10):.2f} % of one core; "
          f"the receiver alone: {engine_cpu():.2f} %")


if __name__ == "__main__":
    main()
