"""`hotline check`: a config read as the daemon reads it, the hardware probed (on a Pi, or when asked), and the
running daemon's alarms; exit 1 if anything is wrong. Reading a config file, its problems printed, is shared
with the commands that start the box (serve.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .. import config as configuration
from ..core.problems import Problem

if TYPE_CHECKING:
    import argparse


def print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr if problem.severity == "error" else sys.stdout)


def load_config(path: Path, simulated: bool = False, check_devices: bool = True) -> configuration.Config | None:
    try:
        config = configuration.load(path, simulated=simulated, check_devices=check_devices)
    except configuration.ConfigError as exc:
        print_problems(exc.problems)
        print(f"{path}: {len(exc.problems)} problem(s); nothing started.", file=sys.stderr)
        return None
    print_problems(list(config.warnings))
    return config


def _on_a_pi() -> bool:
    try:
        return "Raspberry Pi" in Path("/proc/device-tree/model").read_text(errors="replace")
    except OSError:
        return False


def check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    status = 0
    if config is None:
        status = 1
    else:
        print(f"{args.config}: OK — {len(config.lines)} line(s), {len(config.handsets)} handset(s), "
              f"{len(config.flow.nodes)} flow nodes")
        if any(node.type == "speak" for node in config.flow.nodes.values()):
            from ..speech.capacity import judge

            verdict = judge(config.speech.engine, config.speech.min_free_mb)
            print(f"speech: {verdict.why}" if verdict.on else
                  f"speech: OFF — {verdict.why}; callers at speak nodes use the keys")
    if args.hardware or (args.hardware is None and _on_a_pi()):
        from ..ops.hwcheck import answering_lines, format_findings, probe

        ports = {line.id: line.port for line in config.lines} if config else None
        voice = {line.id: line.audio_port for line in config.lines if line.audio_port} if config else None
        forwards = {line.id: (line.forward_to, line.forward_on) for line in config.lines if line.forward_to} \
            if config else None
        findings = probe(ports, voice_ports=voice, fix=args.fix, forwards=forwards)
        print(format_findings(findings))
        _forget_refusals(args.data, answering_lines(findings))
        if any(not finding.ok for finding in findings):
            status = 1
    if _print_alarms(args.data, config):
        status = 1
    return status


def _forget_refusals(data: Path, lines: list[str]) -> None:
    """The modems just asked anew: a network's refusal of hold or joining calls that the daemon kept is forgotten,
    so remote operators are tried on those lines again (service/refusals.py)."""
    from ..service import refusals

    if not data.is_dir():
        return
    for line in refusals.forget(data, lines):
        print(f"line {line}: the network's earlier refusal of hold or joining calls is forgotten; remote "
              "operators are tried there again")


def _print_alarms(data: Path, config: configuration.Config | None) -> bool:
    """The running daemon's alarms (docs/alarms.md), or without one the disk's; True when there is any."""
    from ..diskspace import low_space
    from ..service import control

    path = data / "control.sock"
    if not path.exists():  # no daemon runs on this data directory: the free space is all there is to judge
        records = config.records if config else configuration.Records()
        low = low_space(data, records.warn_free_mb, records.warn_free_percent) if data.is_dir() else None
        if low:
            print(f"alarm disk.low (warning): {low}")
        return bool(low)
    try:
        reply = control.call(path, "status", timeout=3.0)
    except control.ControlError as exc:
        print(f"{data}: {exc}")
        return False
    alarms = reply.get("alarms", [])
    for alarm in alarms:
        print(f"alarm {alarm['id']} ({alarm['severity']}): {alarm['text']}",
              file=sys.stderr if alarm["severity"] == "error" else sys.stdout)
    if not alarms:
        print(f"{data}: the running daemon raises no alarm")
    return bool(alarms)
