"""Answer latency: time from RING leaving the emulator to ATA arriving at it, ours vs python-gsmmodem-new.

Run: .venv/bin/python bench/answer_latency.py [calls]   (prints figures; not a test)
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.core.events import CallAnswered, IncomingCall  # noqa: E402
from appliance.modem.emulator import ModemEmulator  # noqa: E402
from appliance.modem.line import ModemLine  # noqa: E402


def one_call(emu: ModemEmulator, answered: threading.Event) -> float | None:
    answered.clear()
    rings, atas = len(emu.ring_sent_at), emu.count("ATA")
    emu.incoming_call("+79161234567")
    if not answered.wait(10):
        emu.remote_hangup()
        return None
    ring_at = emu.ring_sent_at[rings]
    ata_at = [t for c, t in zip(emu.received, emu.received_at, strict=False) if c.upper() == "ATA"][atas]
    emu.remote_hangup()
    time.sleep(0.02)  # let NO CARRIER settle before the next RING
    return ata_at - ring_at


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
        return [d for d in (one_call(emu, answered) for _ in range(calls)) if d is not None]
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
        if call.ringCount == 1:
            call.answer()
            answered.set()

    modem = GsmModem(emu.port, 115200, incomingCallCallbackFunc=on_call)
    modem.connect()
    try:
        return [d for d in (one_call(emu, answered) for _ in range(calls)) if d is not None]
    finally:
        modem.close()
        emu.stop()


def describe(name: str, samples: list[float], calls: int) -> float:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    print(f"{name:<22} answered {len(samples)}/{calls}  median {median * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms")
    return median


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 200
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
    print(f"ratio ours/peer (median) {ours_median / peer_median:.2f}  (target <= 1.0)")


if __name__ == "__main__":
    main()
