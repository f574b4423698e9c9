"""Answer latency: time from RING leaving the emulator to ATA arriving at it, ours vs python-gsmmodem-new.

Run: .venv/bin/python bench/answer_latency.py [calls]   (prints figures; not a test)

Each call comes from a new number: python-gsmmodem-new does not notice a far-end hang-up on a
generic modem, so a caller ringing again counts as the old call's next ring and is never answered.
A call not answered within CALL_WAIT s counts as a miss, and each side stops after BUDGET s, so 200
calls each take well under three minutes even when the peer misses.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

CALL_WAIT = 2.0  # a ring gets answered within milliseconds or not at all
BUDGET = 80.0  # seconds per side

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.core.events import CallAnswered, IncomingCall  # noqa: E402
from appliance.modem.emulator import ModemEmulator  # noqa: E402
from appliance.modem.line import ModemLine  # noqa: E402


def one_call(emu: ModemEmulator, answered: threading.Event, n: int) -> float | None:
    answered.clear()
    rings, atas = len(emu.ring_sent_at), emu.count("ATA")
    emu.incoming_call(f"+7916{n:07d}")
    if not answered.wait(CALL_WAIT):
        emu.remote_hangup()
        return None
    ring_at = emu.ring_sent_at[rings]
    ata_at = [t for c, t in zip(emu.received, emu.received_at, strict=False) if c.upper() == "ATA"][atas]
    emu.remote_hangup()
    time.sleep(0.02)  # let NO CARRIER settle before the next RING
    return ata_at - ring_at


def run_calls(emu: ModemEmulator, answered: threading.Event, calls: int) -> list[float]:
    samples, deadline = [], time.monotonic() + BUDGET
    for n in range(calls):
        if time.monotonic() > deadline:
            print(f"  (time budget of {BUDGET:g} s used up after {n} calls)")
            break
        latency = one_call(emu, answered, n)
        if latency is not None:
            samples.append(latency)
    return samples


def ours(calls: int) -> list[float]:
    emu = ModemEmulator("sim800")
    emu.start()
    answered = threading.Event()
    line: ModemLine | None = None

    def post(event: object) -> None:  # what the core does on the first RING: answer at once
        if isinstance(event, IncomingCall):
            line.answer()
        elif isinstance(event, CallAnswered):
            answered.set()

    line = ModemLine("bench", emu.port, post=post, dialect="sim800")
    line.start()
    try:
        return run_calls(emu, answered, calls)
    finally:
        line.close()
        emu.stop()


def peer(calls: int) -> list[float] | None:
    try:
        from gsmmodem.modem import GsmModem
    except ImportError:
        return None
    emu = ModemEmulator("sim800")
    emu.start()
    answered = threading.Event()

    def on_call(call) -> None:
        if call.ringCount == 1 and not call.answered:
            call.answer()
            answered.set()

    modem = GsmModem(emu.port, 115200, incomingCallCallbackFunc=on_call)
    modem.connect()
    try:
        return run_calls(emu, answered, calls)
    finally:
        modem.close()
        emu.stop()


def describe(name: str, samples: list[float], calls: int) -> float | None:
    if not samples:
        print(f"{name:<22} answered 0/{calls}")
        return None
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    print(f"{name:<22} answered {len(samples)}/{calls}  median {median * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms")
    return median


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    started = time.monotonic()
    ours_median = describe("ours", ours(calls), calls)
    try:
        theirs = peer(calls)
    except Exception as exc:  # noqa: BLE001 - a peer that cannot drive the emulator is a result, not a crash
        print(f"python-gsmmodem-new: failed against the emulator: {exc!r}")
        return
    if theirs is None:
        print("python-gsmmodem-new: peer not installed (.venv/bin/pip install python-gsmmodem-new)")
        return
    if not theirs:
        print("python-gsmmodem-new: answered no call")
        return
    peer_median = describe("python-gsmmodem-new", theirs, calls)
    if ours_median is not None and peer_median:
        print(f"ratio ours/peer (median) {ours_median / peer_median:.2f}  (target <= 1.0)")
    print(f"took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
