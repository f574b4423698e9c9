"""Answer latency: time from RING leaving the emulator to ATA arriving at it, ours vs python-gsmmodem-new.

Run: .venv/bin/python bench/answer_latency.py [calls] [rounds]   (prints figures; not a test)

"ours" is the whole daemon, `hotline run` as installed: the AT channel's reader, the line's state machine
and worker, the event loop, the core and the call store (a real SQLite file), timed once the start's prompts
are made. The line notes the answer in its journal and sends ATA straight from the RING; the record follows.
The time is what the caller waits for: from the RING leaving the modem to the ATA reaching it. A second
row, "ours: ModemLine alone", is the component figure (the line answering on its own, nothing behind it).
Both run in processes of their own, as the modem emulator (this process) stands for hardware of its own: in
one process the emulator would wait for the daemon's record write to give back the interpreter, which no
real modem does. The peer, python-gsmmodem-new answering on the first ring, is a library and runs here, as
the earlier benches ran it. The sides alternate for `rounds` rounds, so a machine getting busier hurts all
of them alike.

Each call comes from a new number: python-gsmmodem-new does not notice a far-end hang-up on a
generic modem, so a caller ringing again counts as the old call's next ring and is never answered.
A call not answered within CALL_WAIT s counts as a miss, and each side stops after BUDGET s a round.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# A SIM7600 on every side: the SIM800 emulator also reports the incoming call as +CLCC (AT+CLCC=1), which
# python-gsmmodem-new takes for a changed ring format: it sends AT+CRC=1, swallows the +CLIP as that
# command's reply and misses most calls, which would leave it no latency to compare.
FAMILY = "sim7600"
CALL_WAIT = 2.0  # a ring gets answered within milliseconds or not at all
BUDGET = 40.0  # seconds per side and round

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import hotline_process  # noqa: E402
import simbox  # noqa: E402

from appliance.sim.emulator import ModemEmulator  # noqa: E402


def one_call(emu: ModemEmulator, n: int, settled: Callable[[], bool]) -> float | None:
    rings, atas = len(emu.ring_sent_at), emu.count("ATA")
    emu.incoming_call(f"+7916{n:07d}")
    deadline = time.monotonic() + CALL_WAIT
    while emu.count("ATA") == atas and time.monotonic() < deadline:
        time.sleep(0.002)
    answered = emu.count("ATA") > atas
    while answered and len(emu.ring_sent_at) <= rings:  # the emulator stamps RING just after writing it
        time.sleep(0.001)
    if answered:
        ring_at = emu.ring_sent_at[rings]
        ata_at = [t for c, t in zip(emu.received, emu.received_at, strict=False) if c.upper() == "ATA"][atas]
    emu.remote_hangup()
    deadline = time.monotonic() + CALL_WAIT
    while not settled() and time.monotonic() < deadline:  # the side is done with the call before the next RING
        time.sleep(0.005)
    time.sleep(0.02)
    return ata_at - ring_at if answered else None


def run_calls(emu: ModemEmulator, calls: int, first: int, settled: Callable[[], bool]) -> list[float]:
    samples, deadline = [], time.monotonic() + BUDGET
    for n in range(first, first + calls):
        if time.monotonic() > deadline:
            print(f"  (time budget of {BUDGET:g} s used up after {n - first} calls)")
            break
        latency = one_call(emu, n, settled)
        if latency is not None:
            samples.append(latency)
    return samples


LINE_ALONE = """
import sys
from appliance.modem.line import ModemLine

line = ModemLine("bench", sys.argv[1], post=lambda event: None, dialect=sys.argv[2])
line.start()
print("ready", flush=True)
sys.stdout = open("/dev/null", "w")
sys.stdin.read()
line.close()
"""


@contextmanager
def process(code: str, port: str) -> Iterator[None]:
    """A side in a process of its own, as the modem is hardware of its own: the emulator (in this
    process) never waits for the side's interpreter, nor the side for the emulator's."""
    proc = subprocess.Popen([sys.executable, "-c", code, port, FAMILY], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the side did not start")
        yield
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def ours(calls: int, first: int = 0) -> list[float]:
    """RING to ATA through the whole daemon: `hotline run` with a real call store."""
    emu = ModemEmulator(FAMILY)
    emu.start()
    with tempfile.TemporaryDirectory(prefix="answer-bench-") as root:
        config, data = hotline_process.write_box(Path(root), {"gsm1": emu.port})
        config.write_text(config.read_text().replace('dialect = "sim800"', f'dialect = "{FAMILY}"'))
        hotline = hotline_process.Hotline(config, data, Path(root) / "hotline.log")
        try:
            if hotline.start() is None:
                raise RuntimeError(f"hotline run did not start: {(Path(root) / 'hotline.log').read_text()[-500:]}")
            simbox.wait(lambda: line_up(hotline), 20)
            # The start's prompts are made after READY=1, on a thread of the daemon with espeak-ng and sox
            # beside it: timed then, half a round's calls measured the start-up (3 ms median here, not 0.6),
            # not what a caller meets on a box that is up.
            hotline.wait_for_prompts()

            def settled() -> bool:
                status = hotline.status() or {}
                return all(line.get("call") is None for line in status.get("lines", []))

            return run_calls(emu, calls, first, settled)
        finally:
            hotline.close()
            emu.stop()


def line_up(hotline: hotline_process.Hotline) -> bool:
    status = hotline.status() or {}
    return any(line.get("state") == "up" for line in status.get("lines", []))


def ours_line_alone(calls: int, first: int = 0) -> list[float]:
    """RING to ATA through ModemLine alone: the component figure."""
    emu = ModemEmulator(FAMILY)
    emu.start()
    try:
        with process(LINE_ALONE, emu.port):
            return run_calls(emu, calls, first, lambda: True)
    finally:
        emu.stop()


def peer(calls: int, first: int = 0) -> list[float] | None:
    """The peer as the library it is, in this process. (In a process of its own it misses most calls here:
    the +CLIP that follows RING arrives while it sends AT+CRC=1 and is taken as that command's reply.)"""
    try:
        from gsmmodem.modem import GsmModem
    except ImportError:
        return None
    emu = ModemEmulator(FAMILY)
    emu.start()

    def on_call(call) -> None:
        if call.ringCount == 1 and not call.answered:
            call.answer()

    modem = GsmModem(emu.port, 115200, incomingCallCallbackFunc=on_call)
    modem.connect()
    try:
        return run_calls(emu, calls, first, lambda: True)
    finally:
        modem.close()
        emu.stop()


def rounds(calls: int, count: int = 3) -> dict[str, list[float] | None]:
    """`count` alternating rounds of `calls` calls each: daemon, peer, line alone, daemon, peer, ..."""
    sides: dict[str, list[float] | None] = {"ours": [], "peer": [], "line": []}
    for r in range(count):
        first = r * calls
        sides["ours"] += ours(calls, first)
        theirs = peer(calls, first)
        sides["peer"] = None if theirs is None or sides["peer"] is None else sides["peer"] + theirs
        sides["line"] += ours_line_alone(calls, first)
    return sides


def describe(name: str, samples: list[float], calls: int) -> float | None:
    if not samples:
        print(f"{name:<26} answered 0/{calls}")
        return None
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    print(f"{name:<26} answered {len(samples)}/{calls}  median {median * 1000:7.2f} ms  p99 {p99 * 1000:7.2f} ms")
    return median


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    started = time.monotonic()
    try:
        sides = rounds(calls, count)
    except Exception as exc:  # noqa: BLE001 - a peer that cannot drive the emulator is a result, not a crash
        print(f"failed: {exc!r}")
        return
    total = calls * count
    ours_median = describe("ours: whole daemon", sides["ours"], total)
    describe("ours: ModemLine alone", sides["line"], total)
    if sides["peer"] is None:
        print("python-gsmmodem-new: peer not installed (.venv/bin/pip install python-gsmmodem-new)")
        return
    peer_median = describe("python-gsmmodem-new", sides["peer"], total)
    if ours_median is not None and peer_median:
        print(f"ratio whole daemon/peer (median) {ours_median / peer_median:.2f}  (target <= 0.5)")
    print(f"took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
