"""Faults during a soak: `hotline run` as systemd runs it, two emulated modems, and everything going wrong.

    .venv/bin/python bench/faults.py [--calls 600] [--seed 1] [--quick]

The daemon is a subprocess (GPIOZERO_PIN_FACTORY=mock, a NOTIFY_SOCKET read like systemd's) whose two
lines name the stable `link=` symlinks of ModemEmulators running here. Callers on both lines take
random paths (hang up while it rings, in the menu, on a network drop, waiting for an operator, or an
ATA answered with an error). Meanwhile, at random moments, a modem hangs for a few seconds, vanishes
from USB and comes back under a new pty, sends garbage, reports NORMAL or UNDER-VOLTAGE POWER DOWN and is
powered on again, and the daemon is killed with SIGKILL and restarted (retried every RESTART_SEC while it
refuses to start, as systemd's Restart=on-failure does). Afterwards: every call a modem's ATA answered (or
refused) has exactly one complete record, the database passes PRAGMA integrity_check, each restart came up
with no handset ringing or on a call and no live call, and both lines are back in service. Then the clock
steps (bench/clock_steps.py, in-process: a boot in 1970, the time set, steps of years mid-call): no record
may be deleted or changed by them. Last, bench/start_faults.py: state damaged before a start (config,
call log, restore, prompts, key) and a second `hotline run` on the same data directory or modems.

Nobody lifts a handset here (the subprocess's pins are its own MockFactory's): relay states across a
crash are proven in-process by tests/system/test_daemon_safety.py, and here through the daemon's status.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import clock_steps  # noqa: E402
import start_faults  # noqa: E402
from disk_faults import DiskFull, refused_for_storage, refused_start_for_storage  # noqa: E402
from hotline_process import Hotline, write_box  # noqa: E402
from simbox import saw, wait  # noqa: E402

from appliance.sim.emulator import ModemEmulator  # noqa: E402

LINES = ("gsm1", "gsm2")
STAGES = {"ringing": 2, "menu": 3, "dropped": 2, "timeout": 1, "queue": 5, "refused": 1}
LINE_FAULTS = {"hung": 3, "unplug": 3, "garbage": 3, "power down": 2, "under-voltage": 2}
RESTART_SEC = 1.0  # systemd's RestartSec, shortened so a run fits in minutes
RECORD_WAIT = 15.0  # seconds an answered caller's record may take at the end before the soak stops the daemon


class Bench:
    def __init__(self, root: Path, calls: int, seed: int, quick: bool, progress: bool) -> None:
        self.calls, self.quick, self.progress = calls, quick, progress
        self.rng = random.Random(seed)
        self.seed = seed
        self.emulators = {line: ModemEmulator("sim800", link=str(root / f"modem-{line}")) for line in LINES}
        for emulator in self.emulators.values():
            emulator.start()
        self.disk = DiskFull(root)  # before the data dir is written: it may become a tiny tmpfs
        config, data = write_box(root, {line: e.port for line, e in self.emulators.items()})
        self.hotline = Hotline(config, data, root / "hotline.log")
        self.placed: dict[str, tuple[str, str, bool]] = {}  # number -> (line, stage, answered or refused by an ATA)
        self.rang_at: dict[str, float] = {}  # number -> wall time it rang: where to look in a kept log
        self.numbers = iter(range(calls))
        self.faults: Counter = Counter()
        self.ready_times: list[float] = []
        self.refused_starts: list[str] = []
        self.unclean_restarts: list[dict] = []
        self.cut: set[str] = set()  # numbers mid-call when the daemon was killed
        self.live: dict[str, str] = {}  # line -> number of the call on it now
        self.done = threading.Event()
        self._cond = threading.Condition()
        self._open = False  # callers may ring: the daemon is up
        self._busy = 0

    # --- callers ---------------------------------------------------------------------------

    def line_up(self, line: str) -> bool:
        status = self.hotline.status()
        return bool(status) and any(lx["id"] == line and lx["state"] == "up" for lx in status["lines"])

    def line_call(self, line: str) -> dict | None:
        status = self.hotline.status()  # None while the daemon is down: the call is over for the caller
        return next((c for c in status["calls"] if c["line"] == line), None) if status else None

    def caller(self, line: str, rng: random.Random) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._open or self.done.is_set(), 120) or self.done.is_set():
                    return
            # The network rings only a registered modem; a kill meanwhile sends this caller back to wait.
            up = wait(lambda: not self._open or self.line_up(line), 30, 0.1)
            with self._cond:
                if not self._open:
                    continue
                n = next(self.numbers, None)
                if n is None:
                    return
                self._busy += 1
            try:
                number = f"+7911{n:07d}"
                if up:
                    self.placed[number] = (line, *self.place_call(line, number, rng))
                else:
                    self.placed[number] = (line, "line down", False)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()
            if self.progress and n % 25 == 0:
                print(f"  {n:>5}/{self.calls} calls  faults {sum(self.faults.values())}  "
                      f"kills {self.faults['kill']}", file=sys.stderr, flush=True)

    def place_call(self, line: str, number: str, rng: random.Random) -> tuple[str, bool]:
        emulator = self.emulators[line]
        mark = len(emulator.received)
        self.rang_at[number] = time.time()
        stage = rng.choices(list(STAGES), weights=list(STAGES.values()))[0]
        if stage == "refused":
            emulator.fail_answer()
        self.live[line] = number

        def answered() -> bool:
            # Whom an ATA met, not whether one arrived during this call: a late ATA for the last caller, who hung
            # up at once, lands here and answers no one (bench/soak.py's place_call). A refused ATA answers no
            # one either, yet the box saw that caller: theirs is the ATA the modem refused during their call.
            if stage == "refused":
                return saw(emulator.received, mark, "ATA")
            return emulator.script.answered == number

        try:
            if not emulator.incoming_call(number, busy_wait=5):
                return "busy", answered()
            if stage == "ringing" or stage == "refused" or not wait(answered, 5, 0.005):
                time.sleep(rng.uniform(0, 0.2) if stage == "ringing" else 0.05)
                emulator.fail_answer(None)
                emulator.cancel_call()
            elif stage == "menu":
                time.sleep(rng.uniform(0, 0.3))
                emulator.remote_hangup()
            elif stage == "dropped":
                time.sleep(rng.uniform(0, 0.3))
                emulator.drop_call()
            elif stage == "queue":
                time.sleep(0.05)
                emulator.send_dtmf(rng.choice("120"))
                time.sleep(rng.uniform(0.1, 2.5))  # hangs up while operators ring, or hears "nobody" and bye
                emulator.remote_hangup()
            wait(lambda: self.line_call(line) is None, 15, 0.05)
            emulator.remote_hangup()  # a caller whose box went silent gives up too
            return stage, answered()
        finally:
            self.live.pop(line, None)

    # --- faults ----------------------------------------------------------------------------

    def line_faults(self, rng: random.Random) -> None:
        gap, hold = ((0.5, 2.0), (0.5, 2.0)) if self.quick else ((1.0, 6.0), (1.0, 4.0))
        first = list(LINE_FAULTS)  # each kind at least once, then at random
        rng.shuffle(first)
        while not self.done.wait(rng.uniform(*gap)):
            kind = first.pop() if first else rng.choices(list(LINE_FAULTS), weights=list(LINE_FAULTS.values()))[0]
            line = rng.choice(LINES)
            emulator = self.emulators[line]
            self.faults[kind] += 1
            if kind == "garbage":
                emulator.send_garbage(rng.randbytes(rng.randint(1, 200)))
                continue
            if kind == "hung":
                emulator.hung = True
            elif kind == "unplug":
                emulator.unplug()
            else:
                emulator.power_down(under_voltage=kind == "under-voltage")
            time.sleep(rng.uniform(*hold))
            if kind == "hung":
                emulator.hung = False
            elif kind == "unplug":
                emulator.replug()
            else:
                emulator.power_on()

    def kills(self, rng: random.Random) -> None:
        gap = (3.0, 8.0) if self.quick else (5.0, 25.0)
        while not self.done.wait(rng.uniform(*gap)):
            self.faults["kill"] += 1
            with self._cond:
                self._open = False
                self.cut.update(self.live.values())
            self.hotline.kill()
            for emulator in self.emulators.values():
                emulator.remote_hangup()  # callers find a dead line and hang up
            with self._cond:
                self._cond.wait_for(lambda: self._busy == 0, 60)
            self.restart()

    def restart(self) -> None:
        """Start again until it is READY (systemd's Restart=on-failure); then its status must be idle."""
        for _ in range(60):
            took = self.hotline.start()
            if took is not None:
                break
            self.refused_starts.append(self._last_error())
            time.sleep(RESTART_SEC)
        else:
            raise RuntimeError(f"the daemon never became ready again: {self.refused_starts[-1]}")
        self.ready_times.append(took)
        status = self.hotline.status() or {}
        busy = [h for h in status.get("handsets", []) if h["state"] in ("ringing", "on call")]
        if not status or busy or status.get("calls"):
            self.unclean_restarts.append({"handsets": busy, "calls": status.get("calls")})
        with self._cond:
            self._open = True
            self._cond.notify_all()

    def all_recorded(self) -> bool:
        """Whether every caller whose ATA a modem saw has a complete record (the daemon running)."""
        answered = {n for n, (_, _, ata) in self.placed.items() if ata}
        conn = sqlite3.connect(f"file:{self.hotline.data / 'calls.db'}?mode=ro", uri=True)
        try:
            done = {c for (c,) in conn.execute("SELECT caller FROM calls WHERE ended_at IS NOT NULL "
                                               "AND outcome IS NOT NULL")}
        except sqlite3.OperationalError:
            return False  # held by the daemon alone (a start on a full disk opens it so): asked again
        finally:
            conn.close()
        return answered <= done

    def _last_error(self) -> str:
        lines = [x for x in self.hotline.log.read_text(errors="replace").splitlines() if x.strip()]
        errors = [x for x in lines if x.startswith(("error:", "hotline could not start"))]  # the why, not the summary
        return (errors or lines or ["no output"])[-1]

    # --- the run ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        began = time.monotonic()
        self.restart()
        threads = [threading.Thread(target=self.caller, args=(line, random.Random(f"{self.seed}-{line}")),
                                    name=f"bench-caller-{line}", daemon=True) for line in LINES]
        injectors = [threading.Thread(target=self.line_faults, args=(random.Random(self.seed + 1),), daemon=True),
                     threading.Thread(target=self.kills, args=(random.Random(self.seed + 2),), daemon=True),
                     threading.Thread(target=self.disk.inject, daemon=True,
                                      args=(random.Random(self.seed + 3), self.done, self.faults, self.quick))]
        for thread in threads + injectors:
            thread.start()
        for thread in threads:
            thread.join()
        self.done.set()
        for thread in injectors:
            thread.join(90)
        lines_back = wait(lambda: all(self.line_up(line) for line in LINES), 30, 0.2)
        # A caller's end is judged by the daemon's status, which shows a call only once the line has announced
        # it: the last caller may hang up and the soak end before that (seen: SIGTERM 34 ms after the ring, the
        # run's first answer, its seal's library loading). The answer journal still held it for the next start,
        # which this soak never makes; so the stop waits until every answered caller is recorded, or RECORD_WAIT.
        wait(self.all_recorded, RECORD_WAIT, 0.2)
        final = self.hotline.status() or {}
        exit_code = self.hotline.stop()
        seconds = time.monotonic() - began
        figures = self.figures(seconds, lines_back, final, exit_code)
        if soak_failed(figures):
            figures["kept"] = str(self.keep())
            print(f"faults: the soak failed; its data directory and the daemon's log are kept in {figures['kept']}",
                  file=sys.stderr, flush=True)
        return figures

    def keep(self) -> Path:
        """A copy of the data directory and the daemon's log that outlives the run: the data directory is a
        tmpfs unmounted at the end, and a test's temporary directory goes with its CI machine."""
        kept = Path(tempfile.mkdtemp(prefix="hotline-faults-kept-"))
        # Not the filler, the daemon's 4 MB of reserved zeros (space.reserve) or its sockets: nothing to read there.
        shutil.copytree(self.hotline.data, kept / "data",
                        ignore=shutil.ignore_patterns("filler.bin", "space.reserve", "*.sock"))
        shutil.copy2(self.hotline.log, kept / "hotline.log")
        return kept

    def figures(self, seconds: float, lines_back: bool, final: dict, exit_code: int | None) -> dict[str, Any]:
        database = self.hotline.data / "calls.db"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            rows = conn.execute("SELECT caller, ended_at IS NOT NULL AND outcome IS NOT NULL, outcome "
                                "FROM calls").fetchall()
            nameless = conn.execute("SELECT id, line, started_at, outcome FROM calls WHERE caller IS NULL").fetchall()
        conn.close()
        per_caller = Counter(caller for caller, _, _ in rows)
        complete = Counter(caller for caller, ok, _ in rows if ok)
        outcome = {caller: out for caller, _, out in rows}
        bad = [n for n, (_, _, answered) in self.placed.items()
               if per_caller[n] > 1 or (answered and complete[n] != 1) or (per_caller[n] and not complete[n])]
        cut = [n for n in self.cut if n in self.placed and self.placed[n][2]]
        return {
            "calls": len(self.placed), "seconds": seconds,
            "answered": sum(answered for _, _, answered in self.placed.values()),
            "records": len(rows), "bad_records": len(bad),
            "bad_examples": [{"caller": n, "line": self.placed[n][0], "stage": self.placed[n][1],
                              "answered": self.placed[n][2], "records": per_caller[n], "complete": complete[n],
                              "cut_by_kill": n in self.cut, "rang_at": self.rang_at.get(n)} for n in bad[:5]],
            # Every caller here sends a number: a record without one lost it (the calls above miss their record).
            "nameless_records": nameless[:5],
            "stages": dict(Counter(stage for _, stage, _ in self.placed.values())),
            "faults": dict(self.faults), "kills": self.faults["kill"],
            "cut_by_kill": len(cut), "cut_interrupted": sum(outcome.get(n) == "interrupted" for n in cut),
            "interrupted": sum(out == "interrupted" for _, _, out in rows),
            "integrity": "ok" if integrity == ["ok"] else "; ".join(integrity[:3]),
            "unclean_restarts": len(self.unclean_restarts), "unclean_examples": self.unclean_restarts[:3],
            "refused_starts": len(self.refused_starts), "refused_examples": sorted(set(self.refused_starts))[:3],
            "starts_refused_for_storage": sum(map(refused_start_for_storage, self.refused_starts)),
            "restart_ready_median": statistics.median(self.ready_times) if self.ready_times else None,
            "lines_down_at_end": 0 if lines_back else sum(
                lx["state"] != "up" for lx in final.get("lines", [{"state": "unknown"}] * len(LINES))),
            "clean_exit": exit_code == 0,
            "refused_storage": refused_for_storage(self.hotline.log.read_text(errors="replace")),
            "disk_full_spells": len(self.disk.windows), "disk_full_skipped": self.disk.skipped,
        }

    def close(self) -> None:
        self.hotline.close()
        for emulator in self.emulators.values():
            emulator.stop()
        self.disk.close()


def run(calls: int = 600, seed: int = 1, quick: bool = False, progress: bool = True,
        data_dir: Path | None = None) -> dict[str, Any]:
    """Place `calls` calls on 2 lines while faults strike; figures on records, integrity, restarts, lines."""
    with tempfile.TemporaryDirectory(prefix="hotline-faults-") as tmp:
        bench = Bench(Path(data_dir or tmp), calls, seed, quick, progress)
        try:
            figures = bench.run()
        except Exception as exc:
            bench.hotline.kill()  # its files still, to be copied whole
            exc.add_note(f"the soak's data directory and the daemon's log are kept in {bench.keep()}")
            raise
        finally:
            bench.close()
        figures |= clock_steps.run(4 if quick else 8, seed, Path(data_dir or tmp) / "clock")
        figures["faults"]["clock step"] = figures["clock_steps"]
        figures |= start_faults.run(Path(data_dir or tmp) / "start", Hotline, write_box)
        figures["faults"]["corrupt state at start"] = figures["bad_state_starts"]
        figures["faults"]["a second instance"] = figures["second_instances"]
        return figures


def soak_failed(figures: dict[str, Any]) -> bool:
    """What the soak itself checks went wrong (the clock steps and bad-state starts after it have their own)."""
    return bool(figures["bad_records"] or figures["integrity"] != "ok" or figures["unclean_restarts"]
                or figures["lines_down_at_end"] or figures["refused_storage"] or figures["starts_refused_for_storage"]
                or not figures["clean_exit"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=None, help="default 600 (40 with --quick)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="faults every second or two: a run of ~30 s")
    args = parser.parse_args(argv)
    figures = run(args.calls or (40 if args.quick else 600), args.seed, args.quick)
    for name, value in figures.items():
        print(f"{name:22} {value:.2f}" if isinstance(value, float) else f"{name:22} {value}")
    ok = (not soak_failed(figures) and not figures["changed_by_clock_step"] and not figures["refused_bad_state"]
          and not figures["unclear_start_state"] and not figures["second_instance_started"]
          and not figures["first_disturbed"])
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
