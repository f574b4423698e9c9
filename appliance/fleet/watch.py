"""`hotline fleet`: an admin's laptop (or any box) listening to the broker and printing every box."""

from __future__ import annotations

import sys
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config.fleet import FleetConfig, parse_fleet
from ..core.problems import Problem
from .client import FleetClient
from .view import FleetView, summary

COLUMNS = ("BOX", "STATE", "LINES", "FREE", "WAITING", "SERVICE", "ALARMS")


def table(boxes: list[dict[str, Any]]) -> str:
    rows = [COLUMNS]
    for entry in boxes:
        row = summary(entry)
        level = row["service_level"]
        rows.append((row["box"], "online" if row["online"] else "OFFLINE", f"{row['lines_up']}/{row['lines']}",
                     str(row["free_operators"]),
                     f"{row['waiting']}" + (f" ({round(row['longest_wait'])} s)" if row["waiting"] else ""),
                     "-" if level is None else f"{round(level * 100)}%", ", ".join(row["alarms"]) or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def watch(config: FleetConfig, *, once: bool, wait: float, out: Callable[[str], None],
          stop: threading.Event | None = None) -> int:
    """Print the fleet once the broker's retained messages are in (`once`), or again at every change until
    `stop`; 1 when the broker could not be reached."""
    view = FleetView()
    changed = threading.Event()
    connected = threading.Event()

    def heard(topic: str, payload: bytes) -> None:
        view.heard(topic, payload)
        changed.set()

    client = FleetClient(config, heard=heard, publishing=False,
                         on_change=lambda up: connected.set() if up else connected.clear())
    client.start()
    try:
        if not connected.wait(wait):
            out(f"the broker {config.url} cannot be reached")
            return 1
        if once:
            # The retained messages come right after the subscription: print once they stop for half a second.
            deadline = time.monotonic() + wait
            changed.wait(min(wait, 1.0))
            while changed.is_set() and time.monotonic() < deadline:
                changed.clear()
                changed.wait(0.5)
            out(table(view.boxes()))
            return 0
        stop = stop or threading.Event()
        shown = None
        while not stop.is_set():
            changed.wait(1.0)
            changed.clear()
            text = table(view.boxes())
            if text != shown:
                out(text + "\n")
                shown = text
        return 0
    finally:
        client.close()


def main(path: Path, *, once: bool, wait: float) -> int:
    """Only the [fleet] table is read: a laptop's file needs no lines or flow, and a box's own config serves."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("fleet")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        print(f"{path}: cannot be read: {exc}", file=sys.stderr)
        return 1
    problems: list[Problem] = []
    fleet = parse_fleet({"fleet": {"box": "laptop", **table}} if isinstance(table, dict) else {}, True, problems)
    for problem in problems:
        print(problem, file=sys.stderr)
    if fleet is None:
        print(f"{path}: no usable [fleet] table (docs/fleet.md)", file=sys.stderr)
        return 1
    try:
        return watch(fleet, once=once, wait=wait, out=lambda text: print(text, flush=True))
    except KeyboardInterrupt:
        return 0
