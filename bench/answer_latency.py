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
the earlier benches ran it.

All three sides are up at once, each on an emulator of its own, and take calls in turn, one call each in an
order that rotates (ours, peer, line; peer, line, ours; ...): a machine getting busier, or another process's
turn on a core, falls on all of them alike, call by call rather than round by round. Each side first takes
WARM calls that are not counted (the first calls of a process load code and fill caches; said in the output).
Every other call counts: a miss is a miss, never left out. `rounds` x `calls` calls per side; the figure is
the median, shown with its quartiles and with the ratio of each round's medians, so a reader sees how far
the figure moves inside one run.

Each call comes from a new number: python-gsmmodem-new does not notice a far-end hang-up on a
generic modem, so a caller ringing again counts as the old call's next ring and is never answered.
A call not answered within CALL_WAIT s counts as a miss, and the run stops after BUDGET s a round.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

# A SIM7600 on every side: the SIM800 emulator also reports the incoming call as +CLCC (AT+CLCC=1), which
# python-gsmmodem-new takes for a changed ring format: it sends AT+CRC=1, swallows the +CLIP as that
# command's reply and misses most calls, which would leave it no latency to compare.
FAMILY = "sim7600"
CALL_WAIT = 2.0  # a ring gets answered within milliseconds or not at all
BUDGET = 120.0  # seconds per round, all three sides
WARM = 5  # calls per side before the counted ones

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import hotline_process  # noqa: E402
import simbox  # noqa: E402

from appliance.sim.emulator import ModemEmulator  # noqa: E402


@dataclass
class Side:
    name: str
    emu: ModemEmulator
    settled: Callable[[], bool]  # the side is done with the last call (the next may ring)


def one_call(side: Side, n: int) -> float | None:
    emu = side.emu
    rings, atas = len(emu.ring_sent_at), emu.count("ATA")
    emu.incoming_call(f"+7916{n:07d}")
    # Waits on the emulator's condition, not in a poll: this process hosts the peer, whose threads would
    # otherwise meet a poll holding the interpreter.
    answered = emu.wait_count("ATA", atas + 1, CALL_WAIT)
    if answered:
        ring_at = emu.ring_sent_at[rings]
        ata_at = [t for c, t in zip(emu.received, emu.received_at, strict=False) if c.upper() == "ATA"][atas]
    emu.remote_hangup()
    deadline = time.monotonic() + CALL_WAIT
    while not side.settled() and time.monotonic() < deadline:  # the side is done with the call before the next RING
        time.sleep(0.005)
    time.sleep(0.02)
    return ata_at - ring_at if answered else None


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


@contextmanager
def emulator() -> Iterator[ModemEmulator]:
    emu = ModemEmulator(FAMILY)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@contextmanager
def ours() -> Iterator[Side]:
    """RING to ATA through the whole daemon: `hotline run` with a real call store."""
    with emulator() as emu, tempfile.TemporaryDirectory(prefix="answer-bench-") as root:
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

            yield Side("ours", emu, settled)
        finally:
            hotline.close()


def line_up(hotline: hotline_process.Hotline) -> bool:
    status = hotline.status() or {}
    return any(line.get("state") == "up" for line in status.get("lines", []))


@contextmanager
def line_alone() -> Iterator[Side]:
    """RING to ATA through ModemLine alone: the component figure."""
    with emulator() as emu, process(LINE_ALONE, emu.port):
        yield Side("line", emu, lambda: True)


PEER = """
import sys
from gsmmodem.modem import GsmModem

def on_call(call):
    if call.ringCount == 1 and not call.answered:
        call.answer()

modem = GsmModem(sys.argv[1], 115200, incomingCallCallbackFunc=on_call)
modem.connect()
print("ready", flush=True)
sys.stdout = open("/dev/null", "w")
sys.stdin.read()
modem.close()
"""


@contextmanager
def peer() -> Iterator[Side | None]:
    """python-gsmmodem-new answering on its first ring, in a process of its own as ours is (None when it is
    not installed)."""
    try:
        import gsmmodem  # noqa: F401 - only whether it is there; it runs in its own process
    except ImportError:
        yield None
        return
    with emulator() as emu, process(PEER, emu.port):
        yield Side("peer", emu, lambda: True)


def rounds(calls: int, count: int = 3) -> dict[str, list[list[float]] | None]:
    """`count` rounds of `calls` calls per side, the sides taking calls in turn: {side: [each round's samples]},
    the peer None when it is not installed."""
    with ExitStack() as stack:
        sides = [stack.enter_context(ours()), stack.enter_context(line_alone())]
        theirs = stack.enter_context(peer())
        if theirs is not None:
            sides.insert(1, theirs)
        n = 0
        for side in sides:
            for _ in range(WARM):
                one_call(side, n)
                n += 1
        taken: dict[str, list[list[float]] | None] = {"ours": [], "peer": None if theirs is None else [], "line": []}
        for r in range(count):
            for side in sides:
                taken[side.name].append([])
            deadline = time.monotonic() + BUDGET
            for i in range(calls):
                if time.monotonic() > deadline:
                    print(f"  (time budget of {BUDGET:g} s used up after {i} calls in round {r + 1})")
                    break
                for k in range(len(sides)):
                    side = sides[(i + k) % len(sides)]
                    latency = one_call(side, n)
                    n += 1
                    if latency is not None:
                        taken[side.name][-1].append(latency)
        return taken


def flat(per_round: list[list[float]]) -> list[float]:
    return [x for samples in per_round for x in samples]


def quartiles(samples: list[float]) -> tuple[float, float, float]:
    """(lower quartile, median, upper quartile)."""
    q1, q2, q3 = statistics.quantiles(samples, n=4) if len(samples) > 1 else samples * 3
    return q1, q2, q3


def round_ratios(ours_rounds: list[list[float]], peer_rounds: list[list[float]]) -> list[float]:
    """Each round's median ratio, ours / peer: how far the figure moves inside the run."""
    return [statistics.median(a) / statistics.median(b) for a, b in zip(ours_rounds, peer_rounds, strict=False)
            if a and b]


def describe(name: str, samples: list[float], calls: int) -> float | None:
    if not samples:
        print(f"{name:<26} answered 0/{calls}")
        return None
    q1, median, q3 = quartiles(samples)
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    print(f"{name:<26} answered {len(samples)}/{calls}  median {median * 1000:6.3f} ms  "
          f"quartiles {q1 * 1000:.3f}-{q3 * 1000:.3f}  p99 {p99 * 1000:6.2f} ms")
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
    print(f"{WARM} calls per side first, not counted; then the sides in turn, call by call")
    ours_median = describe("ours: whole daemon", flat(sides["ours"]), total)
    describe("ours: ModemLine alone", flat(sides["line"]), total)
    if sides["peer"] is None:
        print("python-gsmmodem-new: peer not installed (.venv/bin/pip install python-gsmmodem-new)")
        return
    peer_median = describe("python-gsmmodem-new", flat(sides["peer"]), total)
    if ours_median is not None and peer_median:
        each = " ".join(f"{r:.2f}" for r in round_ratios(sides["ours"], sides["peer"]))
        print(f"ratio whole daemon/peer (median) {ours_median / peer_median:.2f}  (target <= 0.5); rounds: {each}")
    print(f"took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
