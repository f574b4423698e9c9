"""Footprint: what an idle daemon costs, next to python-gsmmodem-new holding the same emulated modem.

    .venv/bin/python bench/footprint.py [--idle 10] [--quick]

Ours: `hotline run` as a subprocess (one line on a ModemEmulator("sim800"), mock pins, a NOTIFY_SOCKET):
seconds from the exec to READY=1, then an idle window in which nothing calls. The peer: a subprocess that
imports `gsmmodem.modem.GsmModem`, connects it to its own ModemEmulator("sim800") and prints a line once
connect() returned, then idles the same window. For both: resident memory (VmRSS from /proc/<pid>/status)
at the end of the window, CPU share over it (utime+stime from /proc/<pid>/stat), threads, and the import
time of the module in a fresh interpreter (`-X importtime` self times summed, minus a bare interpreter's).

Both run as a box runs them (bench/boxenv.py): the daemon is the `hotline` of a venv made by Debian's
/usr/bin/python3 with the tree pip-installed into it, not editable and compiled, as scripts/install.sh does,
started with the environment the shipped unit sets (not this machine's PYTHONDONTWRITEBYTECODE, under which
every start compiled ~150 modules from source); the peer runs in a venv of the same interpreter. The CPU
time the daemon spent up to READY=1 (utime+stime read at the datagram) is given next to the wall time: on a
machine shared with other jobs the wall time is mostly waiting for a core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import boxenv  # noqa: E402
import tomli_w  # noqa: E402
from hotline_process import Hotline, write_box  # noqa: E402

from appliance.sim.emulator import ModemEmulator  # noqa: E402

PEER = """
import sys, threading
from gsmmodem.modem import GsmModem
modem = GsmModem(sys.argv[1], 115200)
modem.connect()
print("CONNECTED", flush=True)
threading.Event().wait()
"""


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (kB) and Threads of a live process."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"rss_kb": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"])}


def cpu_seconds(pid: int, children: bool = False) -> float:
    """utime + stime of a process, in seconds (fields 14 and 15 of /proc/<pid>/stat, after the command name), and
    with `children` its waited-for children's (16 and 17: a first start's migrations run in one where the
    install made no empty logs, records/store/blank_logs.py)."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    fields = (11, 12, 13, 14) if children else (11, 12)
    return sum(int(after_name[i]) for i in fields) / os.sysconf("SC_CLK_TCK")


def idle(pid: int, seconds: float) -> dict[str, float]:
    """Let the process sit for `seconds`; its CPU share over them (%) and its memory and threads at the end."""
    cpu, began = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    share = (cpu_seconds(pid) - cpu) / (time.monotonic() - began) * 100
    status = proc_status(pid)
    return {"cpu_percent": share, "rss_mb": status["rss_kb"] / 1024, "threads": status["threads"]}


def import_ms(python: Path, module: str, env: dict[str, str], runs: int = 3) -> float:
    """Median over `runs` fresh interpreters of the import time of `module` (ms), the interpreter's own left out
    (run outside the tree, so the installed copy is imported)."""
    def total(code: str) -> float:
        err = subprocess.run([str(python), "-X", "importtime", "-c", code], cwd="/", capture_output=True,
                             text=True, check=True, env=env).stderr
        return sum(int(line.split("|")[0].split(":")[1]) for line in err.splitlines()
                   if line.startswith("import time:") and line.split("|")[0].split(":")[1].strip().isdigit())

    return statistics.median(total(f"import {module}") - total("pass") for _ in range(runs)) / 1000


def launch(box: boxenv.Box, config: Path, data: Path, log: Path) -> Hotline:
    """`hotline run` of the installed box, with its unit's environment (and the bench's NOTIFY_SOCKET, mock pins)."""
    hotline = Hotline(config, data, log, argv=[str(box.hotline), "run", "--config", str(config), "--data", str(data)])
    hotline.env = boxenv.box_environment(hotline.env, box=box)
    return hotline


def one_call(emulator: ModemEmulator, hotline: Hotline) -> None:
    """A caller rings, is answered, presses a key and hangs up; back when the daemon says the line is free."""
    answers = emulator.count("ATA")
    emulator.incoming_call("+79161234567")
    wait(lambda: emulator.count("ATA") > answers, "the call answered")
    time.sleep(1.0)
    emulator.send_dtmf("1")
    time.sleep(1.0)
    emulator.remote_hangup()
    wait(lambda: all(line.get("call") is None for line in (hotline.status() or {}).get("lines", [{}])),
         "the line free again")


def wait(done: Any, what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"footprint: {what} did not happen within {seconds:g} s")
        time.sleep(0.05)


def ours(box: boxenv.Box, seconds: float, root: Path, runs: int) -> dict[str, Any]:
    """The box's figures at a restart (its call log made, its prompts in the cache: how a box spends its days),
    its memory after the first start (the call log copied from the one the install made, every prompt made),
    and its memory idle again after one call (what it holds from then on: the first call loads what calls use)."""
    emulator = ModemEmulator("sim800")
    emulator.start()
    config, data = write_box(root, {"gsm1": emulator.port})
    hotline = launch(box, config, data, root / "hotline.log")
    try:
        for start in ("first", "restart"):
            ready = hotline.start()
            cpu_to_ready = cpu_seconds(hotline.proc.pid) if hotline.proc else None
            if ready is None or not hotline.wait_for_prompts():  # made after READY=1: idle is after that
                raise RuntimeError(f"hotline run did not become ready: see {hotline.log.read_text()[-500:]}")
            if start == "first":
                first_rss = idle(hotline.proc.pid, min(seconds, 2.0))["rss_mb"]
                hotline.stop()
        figures = {"ready_seconds": ready, "ready_cpu_seconds": cpu_to_ready, **idle(hotline.proc.pid, seconds),
                   "first_start_rss_mb": first_rss}
        one_call(emulator, hotline)
        figures["after_call_rss_mb"] = idle(hotline.proc.pid, min(seconds, 2.0))["rss_mb"]
    finally:
        hotline.close()
        emulator.stop()
    return {**figures, "import_ms": import_ms(box.python, "appliance.service.daemon",
                                           boxenv.box_environment(dict(os.environ), box=box), runs)}


def first_start(box: boxenv.Box, root: Path, prompts: int = 100, runs: int = 3) -> tuple[float, float]:
    """Median over `runs` first starts (a new data directory each, `prompts` spoken prompts not yet in the cache)
    of the seconds from the exec to READY=1, and of the CPU seconds the daemon spent until then."""
    emulator = ModemEmulator("sim800")
    emulator.start()
    walls, cpus = [], []
    try:
        for run in range(runs):
            config, data = write_box(root / f"run{run}", {"gsm1": emulator.port})
            doc = tomllib.loads(config.read_text())
            doc["prompts"].update({f"bench{n}": {"text": f"Bench prompt number {n}."} for n in range(prompts)})
            config.write_text(tomli_w.dumps(doc))
            hotline = launch(box, config, data, root / "hotline-first.log")
            try:
                ready = hotline.start(wait=300)
                if ready is None or hotline.proc is None:
                    raise RuntimeError(f"hotline run did not become ready: see {hotline.log.read_text()[-500:]}")
                cpus.append(cpu_seconds(hotline.proc.pid, children=True))
                walls.append(ready)
            finally:
                hotline.close()
    finally:
        emulator.stop()
    return statistics.median(walls), statistics.median(cpus)


def peer(seconds: float, runs: int) -> dict[str, Any] | None:
    """python-gsmmodem-new's figures, or None when it is not installed."""
    try:
        import gsmmodem.modem  # noqa: F401 - only asking whether it is there
    except ImportError:
        return None
    python = boxenv.peer().python
    emulator = ModemEmulator("sim800")
    emulator.start()
    began = time.monotonic()
    proc = subprocess.Popen([str(python), "-c", PEER, emulator.port], cwd="/", stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    connected: list[float] = []
    reader = threading.Thread(target=lambda: proc.stdout.readline() and connected.append(time.monotonic()),
                              daemon=True)
    reader.start()
    try:
        reader.join(30)
        if not connected:
            raise RuntimeError("python-gsmmodem-new did not connect to the emulator within 30 s")
        figures = {"ready_seconds": connected[0] - began, **idle(proc.pid, seconds)}
    finally:
        proc.kill()
        proc.wait(10)
        emulator.stop()
    return {**figures, "import_ms": import_ms(python, "gsmmodem.modem",
                                           {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}, runs)}


def run(quick: bool = False, seconds: float | None = None) -> dict[str, Any]:
    """{"ours": {...}, "peer": {...} or None}: ready_seconds, cpu_percent, rss_mb, threads, import_ms."""
    window = seconds or (2.0 if quick else 10.0)
    box = boxenv.box()
    with tempfile.TemporaryDirectory(prefix="hotline-footprint-") as tmp:
        runs = 1 if quick else 3
        figures = {"idle_seconds": window, "interpreter": box.note, "ours": ours(box, window, Path(tmp), runs),
                   "peer": peer(window, runs)}
        (Path(tmp) / "first").mkdir()
        figures["first_start_prompts"] = 10 if quick else 100
        figures["first_start_seconds"], figures["first_start_cpu_seconds"] = first_start(
            box, Path(tmp) / "first", figures["first_start_prompts"], runs)
        return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=None, help="idle window in seconds (default 10; 2 with --quick)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    figures = run(args.quick, args.idle)
    theirs = figures["peer"] or {}
    print(f"idle window {figures['idle_seconds']:g} s; {figures['interpreter']}")
    print(f"{'':18} {'ours':>10} {'python-gsmmodem-new':>20} {'ours/peer':>10}")
    for name in ("ready_seconds", "ready_cpu_seconds", "cpu_percent", "rss_mb", "first_start_rss_mb",
                 "after_call_rss_mb", "threads", "import_ms"):
        mine, other = figures["ours"][name], theirs.get(name)
        ratio = f"{mine / other:.2f}" if other else "-"
        print(f"{name:18} {mine:10.2f} {other if other is None else round(other, 2)!s:>20} {ratio:>10}")
    print(f"first start, {figures['first_start_prompts']} prompts to render, to READY=1: "
          f"{figures['first_start_seconds']:.2f} s, the daemon's CPU time {figures['first_start_cpu_seconds']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
