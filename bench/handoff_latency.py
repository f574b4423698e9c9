"""Hand-off latency: menu key to the first ring relay on, and lift to ringing off + audio relay on.

    .venv/bin/python bench/handoff_latency.py [--calls 200]

Drives the real daemon in-process (bench/simbox.py: modem emulators on ptys, gpiozero mock pins).
Times come from time.monotonic() taken just before the emulator writes `+DTMF:` or the hook pin is
driven low, and from the mock pins' own state-change timestamps. The lift figure includes the
hook switch's 30 ms debounce, as a real operator experiences it. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from simbox import Box, saw  # noqa: E402


def changes(pin, cleared_at: float) -> list[tuple[float, int]]:
    """Absolute monotonic times of a mock pin's changes since clear_states() at `cleared_at`."""
    out, at = [], cleared_at
    for entry in pin.states[1:]:
        at += entry.timestamp
        out.append((at, entry.state))
    return out


def one_call(box: Box, n: int) -> tuple[float, float] | None:
    emulator = box.simulation.emulators["gsm1"]
    mark = len(emulator.received)
    emulator.incoming_call(f"+7900{n:07d}")
    if not box.wait(lambda: saw(emulator.received, mark, "ATA"), 5):
        return None
    if not box.wait(lambda: (box.line_call("gsm1") or {}).get("node") == "menu", 5, 0.01):
        return None
    ring_pins = box.ring_pins()
    cleared_at = time.monotonic()
    for pin in ring_pins:
        pin.clear_states()
    key_at = time.monotonic()
    emulator.send_dtmf("0")
    if not box.wait(lambda: any(p.state for p in ring_pins), 5, 0.001):
        emulator.remote_hangup()
        return None
    first_on = min(t for p in ring_pins for t, s in changes(p, cleared_at) if s)
    handset = box.handsets["h1"]
    audio = box.pin(handset["audio_pins"]["gsm1"])
    hook = box.pin(handset["hook_pin"])
    time.sleep(0.05 + (n % 7) * 0.05)  # lift at varied points of the cadence, on and off phases alike
    audio_cleared = time.monotonic()
    audio.clear_states()
    lift_cleared = time.monotonic()
    for pin in ring_pins:
        pin.clear_states()
    lift_at = time.monotonic()
    hook.drive_low()
    connected = box.wait(lambda: audio.state == 1 and not any(p.state for p in ring_pins), 5, 0.001)
    result = None
    if connected:
        audio_on = next(t for t, s in changes(audio, audio_cleared) if s)
        offs = [t for p in ring_pins for t, s in changes(p, lift_cleared) if not s]
        result = (first_on - key_at, max([audio_on, *offs]) - lift_at)
    emulator.remote_hangup()
    box.wait(lambda: audio.state == 0, 5)
    hook.drive_high()
    box.wait(lambda: box.line_call("gsm1") is None and not any(h["off_hook"] for h in box.status()["handsets"]),
             5, 0.01)  # the receiver is back (after its debounce) before the next call rings
    return result


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(calls: int = 200) -> dict:
    """Seconds: key_to_ring and lift_to_connect, each as median and p99, over `calls` calls."""
    with tempfile.TemporaryDirectory(prefix="hotline-handoff-") as tmp, Box(Path(tmp) / "data") as box:
        samples = [s for s in (one_call(box, n) for n in range(calls)) if s is not None]
    if not samples:
        return {"calls": calls, "measured": 0}
    key, lift = [s[0] for s in samples], [s[1] for s in samples]
    return {"calls": calls, "measured": len(samples),
            "key_to_ring_median": statistics.median(key), "key_to_ring_p99": percentile(key, 0.99),
            "lift_to_connect_median": statistics.median(lift), "lift_to_connect_p99": percentile(lift, 0.99)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    figures = run(args.calls)
    print(f"measured {figures['measured']}/{figures['calls']} calls")
    if figures["measured"]:
        for name in ("key_to_ring", "lift_to_connect"):
            print(f"{name:16} median {figures[name + '_median'] * 1000:7.2f} ms  "
                  f"p99 {figures[name + '_p99'] * 1000:7.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
