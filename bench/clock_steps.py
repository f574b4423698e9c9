"""Clock steps: the box boots in 1970, takes calls, has its clock set, then is stepped by years mid-call.

    .venv/bin/python bench/clock_steps.py [--calls 8] [--seed 1]

The real daemon on a simulated box (modem emulator on a pty, mock pins, a real SQLite file), with the
machine's clocks except that the wall clock is the bench's to step and the time-sync file the bench's to
create, as NTP and systemd-timesyncd do on a Pi. Retention keeps calls 30 days. A record counts as
deleted or changed by a clock step when a call the modem answered has no record, when a call taken before
the clock was set is not moved to the true time it was taken at, when a record changes after its call
ended, or when a wait or talk time is longer than the call really lasted.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance import config as configuration  # noqa: E402
from appliance.service import control  # noqa: E402
from appliance.service.daemon import Daemon  # noqa: E402
from appliance.service.timesync import SystemTime  # noqa: E402
from appliance.sim.simulation import Simulation  # noqa: E402

DAY = 86400.0
YEAR = 365 * DAY
COLUMNS = "started_at, answered_at, ended_at, wait_seconds, talk_seconds, outcome, menu_path"


class Wall:
    """The wall clock: the true time plus however far the bench has stepped it."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


class Box:
    def __init__(self, root: Path) -> None:
        document = configuration.default_document()
        document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
        document["retention"] = {"calls": 30, "voicemail": 30, "recordings": 30, "sms": 30}
        self.simulation = Simulation(document)
        self.data = root / "data"
        self.synced = root / "synchronized"
        self.wall = Wall(1 * DAY - time.time())  # a Pi with no real-time clock boots on 2 January 1970
        config = configuration.parse(self.simulation.document, simulated=True)
        self.daemon = Daemon(config, data_dir=self.data, pin_factory=self.simulation.pin_factory,
                             open_capture=self.simulation.open_capture,
                             clock=SystemTime(self.synced, wall=self.wall))
        self.daemon.start()
        self.runner = threading.Thread(target=self.daemon.run, daemon=True)
        self.runner.start()

    def status(self) -> dict:
        return control.call(self.daemon.control_path, "status")

    def call(self, caller: str, during: Any, seconds: float) -> tuple[float, float]:
        """A caller who listens to the menu for `seconds`, `during` which something happens; (true start, end)."""
        emulator = self.simulation.emulators["gsm1"]
        before = emulator.count("ATA")
        began = time.time()
        emulator.incoming_call(caller)
        _wait(lambda: emulator.count("ATA") > before, 10, "ATA")
        _wait(lambda: self.status()["calls"], 10, "the call")
        time.sleep(seconds / 2)
        during()
        self.status()  # a turn of the daemon's loop, as any event gives it
        time.sleep(seconds / 2)
        emulator.remote_hangup()
        _wait(lambda: not self.status()["calls"], 10, "the call to end")
        return began, time.time()

    def rows(self) -> dict[str, tuple]:
        with sqlite3.connect(self.data / "calls.db") as conn:
            found = {row[0]: row[1:] for row in conn.execute(f"SELECT caller, {COLUMNS} FROM calls")}
        conn.close()
        return found

    def close(self) -> None:
        self.daemon.stop()
        self.runner.join(10)
        self.simulation.close()


def run(calls: int = 8, seed: int = 1, data_dir: Path | None = None) -> dict[str, Any]:
    """Half the calls before the clock is set, half with a step of 1-5 years (either way) in each."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="hotline-clock-") as tmp:
        box = Box(Path(data_dir or tmp))
        try:
            return _run(box, calls, rng)
        finally:
            box.close()


def _run(box: Box, calls: int, rng: random.Random) -> dict[str, Any]:
    taken: dict[str, tuple[float, float]] = {}
    bad: list[str] = []
    numbers = (f"+7912{n:07d}" for n in range(calls))
    for _ in range(calls // 2):
        number = next(numbers)
        taken[number] = box.call(number, lambda: None, rng.uniform(0.2, 0.6))
    box.wall.offset = 0.0  # NTP steps the clock to the true time, and timesyncd says so
    box.synced.touch()
    _wait(lambda: all(a["id"] != "clock.unset" for a in box.status()["alarms"]), 15, "the clock to be seen as set")
    rows = box.rows()
    for number, (began, ended) in taken.items():
        if number not in rows or not began - 1 <= rows[number][0] <= rows[number][2] <= ended + 1:
            bad.append(f"{number} taken before the clock was set: {rows.get(number)} vs true {began:.0f}-{ended:.0f}")
    snapshots: dict[str, tuple] = {}
    steps = 0
    for number in numbers:
        step = rng.choice((-1, 1)) * rng.uniform(1, 5) * YEAR

        def jump(step: float = step) -> None:
            box.wall.offset += step
        taken[number] = box.call(number, jump, rng.uniform(0.2, 0.6))
        steps += 1
        snapshots[number] = box.rows().get(number)
    time.sleep(0.5)
    box.status()
    rows = box.rows()
    for number, snapshot in snapshots.items():
        if snapshot is None or rows.get(number) != snapshot:
            bad.append(f"{number} changed after it ended: {snapshot} -> {rows.get(number)}")
    for number, (began, ended) in taken.items():
        row = rows.get(number)
        if row is None:
            bad.append(f"{number} deleted")
            continue
        for seconds in row[3:5]:
            if seconds is not None and not 0 <= seconds <= ended - began + 1:
                bad.append(f"{number}: {seconds} s in a call of {ended - began:.1f} s")
    return {"clock_steps": steps + 1, "clock_step_calls": len(taken), "changed_by_clock_step": len(set(bad)),
            "clock_step_examples": bad[:5]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    figures = run(args.calls, args.seed)
    for name, value in figures.items():
        print(f"{name:24} {value}")
    print("PASS" if not figures["changed_by_clock_step"] else "FAIL")
    return 0 if not figures["changed_by_clock_step"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
