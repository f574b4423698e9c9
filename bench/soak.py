"""Soak: thousands of simulated calls across 4 lines, then every record, relay, thread and fd checked.

    .venv/bin/python bench/soak.py [--calls 10000] [--seed 1]

Callers (one thread per line) take random menu paths and hang up at every stage: while it rings,
in the menu, as the network drops, while operators ring, while connected, or never (the box says
goodbye). Operators (one thread watching the four handsets' pins) answer after a random delay,
let it ring out, lift a handset that has just stopped, hang up first or wait for the caller, and
are paused and unpaused over the control socket. The test harness trims its own histories
(emulator command logs, mock pin state logs) as it goes, so memory growth is the daemon's.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import logging
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

from simbox import LINES, OPERATORS, Box  # noqa: E402

from appliance.service import control  # noqa: E402

STAGES = {"ringing": 4, "menu": 8, "dropped": 4, "timeout": 2, "queue": 12, "operator": 70}


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _libsqlite() -> ctypes.CDLL | None:
    """The SQLite library Python's sqlite3 links to: its own allocator count is the page caches' share of RSS."""
    name = ctypes.util.find_library("sqlite3")
    try:
        library = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if library is not None:
        library.sqlite3_memory_used.restype = ctypes.c_int64
    return library


_SQLITE = _libsqlite()


def sqlite_kb() -> int:
    """Bytes SQLite holds in this process (page caches, schemas, statements), in KiB; -1 if unknown."""
    return _SQLITE.sqlite3_memory_used() // 1024 if _SQLITE is not None else -1


def box_threads() -> Counter:
    """Threads by name, the emulators' own (ring timers, pty readers) left out: they stand for the network."""
    return Counter(t.name for t in threading.enumerate() if "emulator" not in t.name)


def fd_targets() -> Counter:
    """What this process's descriptors point at (a file's path, `socket:[…]`, `pipe:[…]`, a pty)."""
    found = Counter()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found[os.readlink(f"/proc/self/fd/{fd}")] += 1
        except OSError:  # closed between the listing and the look (the listing's own descriptor, too)
            continue
    return found


class Operators(threading.Thread):
    """Four operators reacting to their own handsets' ring and audio relays, as people at desks do."""

    def __init__(self, box: Box, rng: random.Random) -> None:
        super().__init__(name="soak-operators", daemon=True)
        self.box, self.rng = box, rng
        self.done = threading.Event()
        self.paused: dict[str, float] = {}  # operator -> when they come back

    def run(self) -> None:
        desks = {h: {"state": "idle", "at": 0.0, "operator": OPERATORS[i]} for i, h in enumerate(self.box.handsets)}
        while not self.done.wait(0.005):
            now = time.monotonic()
            for handset, desk in desks.items():
                self._desk(handset, desk, now)
            self._pauses(now)
        for handset in desks:
            self.box.pin(self.box.handsets[handset]["hook_pin"]).drive_high()
        for operator in list(self.paused):
            control.call(self.box.daemon.control_path, "operator.unpause", operator=operator)

    def _desk(self, handset: str, desk: dict, now: float) -> None:
        spec = self.box.handsets[handset]
        ringing = self.box.pin(spec["ring_pin"]).state == 1
        on_call = any(self.box.pin(n).state == 1 for n in spec["audio_pins"].values())
        hook = self.box.pin(spec["hook_pin"])
        state = desk["state"]
        if state == "idle" and ringing:
            if self.rng.random() < 0.75:
                desk.update(state="lifting", at=now + self.rng.uniform(0.02, 0.3))
            else:
                desk.update(state="ignoring", at=now + 1.5)  # lets this ring run out (ring_timeout 1 s)
        elif state == "ignoring" and now >= desk["at"]:
            desk["state"] = "idle"
        elif state == "lifting" and now >= desk["at"]:
            hook.drive_low()
            desk.update(state="lifted", at=now)
        elif state == "lifted":
            if on_call:
                desk.update(state="talking", at=now + self.rng.uniform(0.1, 0.6))
            elif now - desk["at"] > 0.3:  # lifted too late: nobody there
                self._replace(hook, desk, now)
        elif state == "talking" and (not on_call or now >= desk["at"]):
            self._replace(hook, desk, now)  # the caller left, or the operator ends the call
        elif state == "replacing" and now >= desk["at"]:
            desk["state"] = "idle"

    @staticmethod
    def _replace(hook, desk: dict, now: float) -> None:
        hook.drive_high()
        desk.update(state="replacing", at=now + 0.1)  # past the hook debounce

    def _pauses(self, now: float) -> None:
        for operator, until in list(self.paused.items()):
            if now >= until:
                control.call(self.box.daemon.control_path, "operator.unpause", operator=operator)
                del self.paused[operator]
        if len(self.paused) < 2 and self.rng.random() < 0.002:  # about every 2.5 s
            operator = self.rng.choice([o for o in OPERATORS if o not in self.paused])
            control.call(self.box.daemon.control_path, "operator.pause", operator=operator, reason="soak")
            self.paused[operator] = now + self.rng.uniform(0.5, 2.0)


def place_call(box: Box, line: str, caller: str, rng: random.Random) -> tuple[str, bool]:
    """One caller's call on `line`; returns (stage they hung up at, whether the modem answered them).

    Answered means an ATA met this caller's call while it rang, not that an ATA arrived during it: the box writes
    its ATA at the RING, and a caller who hangs up at once is over for the harness (no call in the daemon's status
    yet) before that ATA has reached the modem, so it can land in the next caller's call, after their own hang-up,
    and answer no one (NO CARRIER). Counted as theirs, that caller showed as answered with no record."""
    emulator = box.simulation.emulators[line]
    del emulator.received[:], emulator.received_at[:], emulator.ring_sent_at[:]  # the harness's own history
    stage = rng.choices(list(STAGES), weights=list(STAGES.values()))[0]
    emulator.incoming_call(caller)
    if stage == "ringing":
        emulator.cancel_call()
    elif box.wait(lambda: emulator.script.answered == caller, 5):
        time.sleep(rng.uniform(0.0, 0.05))
        if stage == "menu":
            emulator.remote_hangup()
        elif stage == "dropped":
            emulator.drop_call()
        elif stage != "timeout":
            emulator.send_dtmf(rng.choice(["", "9", "99"]) + rng.choice("120"))  # sometimes a wrong key first
            _wait_for_operator(box, line, emulator, stage, rng)
    box.wait(lambda: box.line_call(line) is None, 15, 0.02)
    return stage, emulator.script.answered == caller


def _wait_for_operator(box: Box, line: str, emulator, stage: str, rng: random.Random) -> None:
    give_up = time.monotonic() + rng.uniform(0.05, 0.8) if stage == "queue" else None
    talk_until = None
    while (call := box.line_call(line)) is not None:
        now = time.monotonic()
        if call["state"] == "connected" and talk_until is None:
            # Half the callers say goodbye first; the other half wait for the operator to hang up.
            talk_until = now + rng.uniform(0.05, 0.4) if rng.random() < 0.5 else float("inf")
        if (give_up and now >= give_up and call["state"] != "connected") or (talk_until and now >= talk_until):
            emulator.remote_hangup()
            return
        time.sleep(0.02)


def records(database: Path) -> list[tuple]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT caller, ended_at IS NOT NULL AND outcome IS NOT NULL AND started_at <= ended_at "
                            "FROM calls").fetchall()


def lost_calls(database: Path, calls: list[tuple[str, str, float]], window: float = 10.0) -> list[dict]:
    """What calls.db holds of each (caller, line, wall time placed), to tell why a call has no one complete record:
    the caller's records with each one's timeline, and the other records on that line within `window` s (a
    record may carry its neighbour's number, or none)."""
    found = []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        columns = "id, line, caller, started_at, answered_at, ended_at, outcome, ended_by, reason"
        for number, line, placed_at in calls:
            mine = [dict(r) for r in conn.execute(f"SELECT {columns} FROM calls WHERE caller = ?", (number,))]
            for record in mine:
                record["events"] = [tuple(e) for e in conn.execute(
                    "SELECT at, event, detail FROM call_events WHERE call_id = ? ORDER BY at, id", (record["id"],))]
            near = [dict(r) for r in conn.execute(
                f"SELECT {columns} FROM calls WHERE line = ? AND started_at BETWEEN ? AND ? AND caller IS NOT ? "
                "ORDER BY started_at", (line, placed_at - window, placed_at + window, number))]
            found.append({"caller": number, "line": line, "placed_at": placed_at, "records": mine, "near": near})
    return found


def run(calls: int = 10_000, seed: int = 1, progress: bool = True, data_dir: Path | None = None,
        curve: Path | None = None, log_level: int = logging.INFO) -> dict:
    """Place `calls` calls; figures on records, relays, memory, threads and fds afterwards.

    `curve`, if given, gets one line per 200 calls as they happen (calls, RSS, SQLite's heap), so a run
    cut short still leaves its memory curve. The daemon's log goes to hotline.log beside its data directory; a
    run with a call lacking exactly one complete record copies both to a `hotline-soak-kept-*` directory that
    outlives it (`figures["kept"]`): a miss seen once in 10,000 calls is not seen again on demand.
    """
    with tempfile.TemporaryDirectory(prefix="hotline-soak-") as tmp:
        root = Path(data_dir or tmp)
        log = logging.FileHandler(root / "hotline.log")
        log.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d %(threadName)s %(levelname)s %(name)s: "
                                           "%(message)s", "%H:%M:%S"))
        logger = logging.getLogger()
        level = logger.level
        logger.addHandler(log)
        logger.setLevel(log_level)
        try:
            figures = _run(calls, seed, progress, root, curve)
        finally:
            logger.removeHandler(log)
            logger.setLevel(level)
            log.close()
        if figures["bad_records"]:
            figures["kept"] = str(keep(root))
        return figures


def keep(root: Path) -> Path:
    """A copy of the daemon's data directory and log that outlives the run (its own directory goes with it)."""
    kept = Path(tempfile.mkdtemp(prefix="hotline-soak-kept-"))
    # Not the daemon's reserved zeros, its sockets, or the prompts made from the config (megabytes, nothing to read).
    shutil.copytree(root / "data", kept / "data",
                    ignore=shutil.ignore_patterns("space.reserve", "*.sock", "prompts", "uploads"))
    shutil.copy2(root / "hotline.log", kept / "hotline.log")
    return kept


NUMBERS = "+7900"  # each caller's number is this and the call's index: one number per call


def _number(n: int) -> str:
    return f"{NUMBERS}{n:07d}"


def _run(calls: int, seed: int, progress: bool, data_dir: Path, curve: Path | None = None) -> dict:
    # The harness's own memory must not grow with the calls, or it would count as the daemon's: one slot per
    # call made up front, each pointing at one of the few (stage, answered) pairs.
    placed: list[tuple[str, bool] | None] = [None] * calls
    placed_at = array("d", bytes(8 * calls))  # when each call rang (wall time) and on which line: kept up front
    placed_on = array("b", bytes(calls))  # too, to look a lost call up in calls.db afterwards
    kinds: dict[tuple[str, bool], tuple[str, bool]] = {}
    lock = threading.Lock()
    numbers = iter(range(calls))
    warm_up = max(20, calls // 10)
    baseline: dict[str, int] = {}
    samples: list[tuple[int, float, float]] = []  # (calls placed, RSS MB, SQLite MB)
    began = time.monotonic()
    if curve is not None:
        curve.write_text("calls\tminutes\trss_mb\tsqlite_mb\n")
    with Box(data_dir / "data") as box:
        operators = Operators(box, random.Random(seed + 1))
        operators.start()

        def caller(line: str, line_rng: random.Random) -> None:
            while True:
                with lock:
                    n = next(numbers, None)
                if n is None:
                    return
                placed_at[n], placed_on[n] = time.time(), LINES.index(line)
                result = place_call(box, line, _number(n), line_rng)
                placed[n] = kinds.setdefault(result, result)
                if n == warm_up:
                    _settle(box)
                    baseline.update(rss=rss_kb(), threads=box_threads(), fds=fd_targets())
                if n % 200 == 0:
                    for pin in box.all_pins():
                        pin.clear_states()  # the mock pins' own change logs, not the daemon's memory
                    sample = (n, rss_kb() / 1024, sqlite_kb() / 1024)
                    samples.append(sample)
                    elapsed = time.monotonic() - began
                    if curve is not None:
                        with curve.open("a") as out:
                            out.write(f"{n}\t{elapsed / 60:.1f}\t{sample[1]:.2f}\t{sample[2]:.2f}\n")
                    if progress:
                        rate = (n + 1) / elapsed
                        print(f"  {n:>6,}/{calls:,} calls  {rate:5.1f}/s  RSS {sample[1]:6.1f} MB  "
                              f"SQLite {sample[2]:5.2f} MB  eta {(calls - n) / rate / 60:4.1f} min",
                              file=sys.stderr, flush=True)

        threads = [threading.Thread(target=caller, args=(line, random.Random(f"{seed}-{line}")), daemon=True)
                   for line in LINES]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        operators.done.set()
        operators.join(10)
        box.wait(lambda: not box.status()["calls"] and not any(h["off_hook"] for h in box.status()["handsets"]), 10)
        for pin in box.output_pins():
            pin.clear_states()
        _settle(box)
        relays_on = sum(pin.state == 1 for pin in box.output_pins())
        after = {"rss": rss_kb(), "threads": box_threads(), "fds": fd_targets()}
        database = box.daemon.data_dir / "calls.db"
        time.sleep(0.2)
        rows = records(database)
        per_caller = Counter(caller for caller, _ in rows)
        complete = Counter(caller for caller, ok in rows if ok)
        done = {_number(n): result for n, result in enumerate(placed) if result is not None}
        bad = [n for n, (stage, answered) in done.items()
               if per_caller[n] > 1 or (answered and complete[n] != 1) or (per_caller[n] and not complete[n])]
        lost = [int(n.removeprefix(NUMBERS)) for n in bad[:5]]
        detail = lost_calls(database, [(_number(i), LINES[placed_on[i]], placed_at[i]) for i in lost])
    seconds = time.monotonic() - began
    return {
        "calls": len(done), "seconds": seconds, "records": len(rows), "bad_records": len(bad),
        "bad_examples": [(n, *done[n], per_caller[n], complete[n], _clock(placed_at[int(n.removeprefix(NUMBERS))]))
                         for n in bad[:5]], "bad_detail": detail,
        "stages": dict(Counter(stage for stage, _ in done.values())),
        "answered": sum(answered for _, answered in done.values()), "relays_on": relays_on,
        "rss_growth_mb": (after["rss"] - baseline.get("rss", after["rss"])) / 1024, "rss_mb": after["rss"] / 1024,
        "threads_leaked": after["threads"].total() - baseline.get("threads", after["threads"]).total(),
        "fds_leaked": after["fds"].total() - baseline.get("fds", after["fds"]).total(),
        "new_fds": dict(after["fds"] - baseline.get("fds", Counter())),
        "new_threads": dict(after["threads"] - baseline.get("threads", Counter())),
        "sqlite_mb": sqlite_kb() / 1024, "rss_curve": sorted(samples),
    }


def _clock(wall: float) -> str:
    """A wall time as the kept log's lines are stamped (local time, ms), to find a lost call there."""
    return time.strftime("%H:%M:%S", time.localtime(wall)) + f".{int(wall % 1 * 1000):03d}"


def _settle(box: Box) -> None:
    """Let transient threads (debounce timers, players finishing a period) end before counting, and the records'
    sync thread catch up with the last commits (it opens the log's file for each sync: one descriptor more)."""
    time.sleep(0.3)
    durable = box.daemon.keeper.durable if box.daemon.keeper is not None else None
    box.wait(lambda: durable is None or durable.synced_count >= durable.committed_count, 5)
    gc.collect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--curve", type=Path, help="write the memory curve here as the run goes (TSV)")
    parser.add_argument("--debug", action="store_true", help="log at DEBUG too (call-state moves)")
    args = parser.parse_args(argv)
    figures = run(args.calls, args.seed, curve=args.curve, log_level=logging.DEBUG if args.debug else logging.INFO)
    for calls_placed, rss, heap in figures.pop("rss_curve"):
        print(f"  after {calls_placed:>6,} calls  RSS {rss:6.1f} MB  SQLite {heap:5.2f} MB")
    for name, value in figures.items():
        print(f"{name:16} {value:.2f}" if isinstance(value, float) else f"{name:16} {value}")
    ok = not figures["bad_records"] and not figures["relays_on"] and figures["rss_growth_mb"] < 2 \
        and figures["threads_leaked"] <= 0 and figures["fds_leaked"] <= 0
    print("PASS" if ok else "FAIL")
    if "kept" in figures:
        print(f"kept: {figures['kept']} (the data directory and the daemon's log; bad_examples: caller, stage, "
              "answered, records, complete, when it rang)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
