"""Bad state at start and a second instance, for bench/faults.py: `hotline run` as systemd starts it.

After the soak, a box that has run once (prompts cached, a call log, a privacy key) is copied and each
copy damaged in one way a Pi meets in the field before `hotline run` starts on it:

* corrupt state at start: the saved config.toml garbage or empty, calls.db with a damaged page or
  not a database at all, a restore file cut short, an uploaded prompt missing, a cached prompt cut
  short. Each must reach READY=1 (its alarm says what happened); one that does not is a "start
  refused because of bad state". A garbage privacy.key must be refused, with a clear message and no
  traceback: losing the key would change every pseudonym, so there refusing is right.
* a second instance: another `hotline run` on the same data directory, then one on another data
  directory with the same modems. Each must be refused while the first keeps answering.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.sim.emulator import ModemEmulator

LINES = ("gsm1", "gsm2")
PAGE = 4096


def _smash_page(db: Path, name: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [name]).fetchone()[0]
    conn.close()
    with open(db, "r+b") as file:
        file.seek((page - 1) * PAGE)
        file.write(b"\xa5" * PAGE)


def _newer(path: Path, text: bytes) -> None:
    path.write_bytes(text)
    later = time.time() + 60
    os.utime(path, (later, later))  # applied from the web page after --config was written: it wins


def _truncate_cache(data: Path) -> None:
    for cached in (data / "prompts").glob("*.raw"):
        blob = cached.read_bytes()
        cached.write_bytes(blob[: len(blob) // 2 + 1])


# name -> (damage done to a box that ran once, the alarm the start must raise; None: it must refuse)
DAMAGE: dict[str, tuple[Callable[[Path], None], str | None]] = {
    "config.toml garbage": (lambda d: _newer(d / "config.toml", b"[flow\n\x00\xff"), "start.config"),
    "config.toml empty": (lambda d: _newer(d / "config.toml", b""), "start.config"),
    "calls.db damaged page": (lambda d: _smash_page(d / "calls.db", "idx_events_kind"), "start.database"),
    "calls.db not a database": (lambda d: (d / "calls.db").write_bytes(b"\x00" * 8192), "start.database"),
    "restore cut short": (lambda d: (d / "calls.db.restore").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100),
                          "start.restore"),
    "uploaded prompt missing": (lambda d: shutil.rmtree(d / "uploads"), "prompt."),
    "cached prompts cut short": (_truncate_cache, ""),
    "privacy.key garbage": (lambda d: (d / "privacy.key").write_text("not a key\n"), None),
}


def run(root: Path, hotline: Callable[..., Any], write_box: Callable[[Path, dict[str, str]], tuple[Path, Path]]
        ) -> dict[str, Any]:
    """`hotline` is bench/hotline_process.py's Hotline (config, data, log, extra_env) and write_box its box maker."""
    root.mkdir(parents=True, exist_ok=True)
    locks = root / "locks"
    locks.mkdir(exist_ok=True)
    env = {"HOTLINE_LOCK_DIR": str(locks)}
    emulators = {line: ModemEmulator("sim800", link=str(root / f"modem-{line}")) for line in LINES}
    for emulator in emulators.values():
        emulator.start()
    ports = {line: e.port for line, e in emulators.items()}
    refused: list[str] = []
    unclear: list[str] = []
    try:
        config, seed_data = write_box(root / "seed", ports)
        first = hotline(config, seed_data, root / "seed.log", env)
        if first.start() is None:
            raise RuntimeError(f"the undamaged box did not start: {(root / 'seed.log').read_text()[-500:]}")
        first.stop()
        first.close()
        for n, (what, (damage, alarm)) in enumerate(DAMAGE.items()):
            data = root / f"box-{n}"
            shutil.copytree(seed_data, data, ignore=shutil.ignore_patterns("control.sock"))
            damage(data)
            box = hotline(config, data, root / f"box-{n}.log", env)
            try:
                ready = box.start()
                status = box.status() if ready is not None and box.wait_for_prompts() else None
            finally:
                box.close()
            log = (root / f"box-{n}.log").read_text(errors="replace")
            if alarm is None:
                if ready is not None or "hotline could not start" not in log or "Traceback" in log:
                    unclear.append(f"{what}: {'started' if ready is not None else log.strip()[-200:]}")
            elif ready is None:
                refused.append(f"{what}: {log.strip()[-200:]}")
            elif not any(a["id"].startswith(alarm) for a in (status or {}).get("alarms", [])) and alarm:
                unclear.append(f"{what}: started without the alarm {alarm}")
        second = _second_instances(root, config, seed_data, ports, hotline, write_box, env)
    finally:
        for emulator in emulators.values():
            emulator.stop()
    return {"bad_state_starts": len(DAMAGE), "refused_bad_state": len(refused), "bad_state_examples": refused[:3],
            "unclear_start_state": len(unclear), "unclear_start_examples": unclear[:3], **second}


def _second_instances(root: Path, config: Path, data: Path, ports: dict[str, str], hotline: Callable[..., Any],
                      write_box: Callable[[Path, dict[str, str]], tuple[Path, Path]], env: dict[str, str]
                      ) -> dict[str, Any]:
    first = hotline(config, data, root / "first.log", env)
    started, disturbed = [], []
    try:
        if first.start() is None:
            raise RuntimeError(f"the first daemon did not start: {(root / 'first.log').read_text()[-500:]}")
        other_config, other_data = write_box(root / "other", ports)  # another data directory, the same modems
        for what, (cfg, dat) in {"same data directory": (config, data),
                                 "same serial ports": (other_config, other_data)}.items():
            log = root / f"second-{what.replace(' ', '-')}.log"
            second = hotline(cfg, dat, log, env)
            try:
                if second.start() is not None:
                    started.append(what)
                elif "hotline could not start" not in log.read_text(errors="replace"):
                    started.append(f"{what}: exited without saying why")
            finally:
                second.close()
            status = first.status()
            if not status or any(line["state"] != "up" for line in status["lines"]):
                disturbed.append(what)
    finally:
        first.close()
    return {"second_instances": 2, "second_instance_started": len(started), "second_examples": started,
            "first_disturbed": len(disturbed)}
