"""A box whose prompts are still being made is on the phone: READY=1 goes out first, and a caller who comes
before a prompt is made hears it the moment it is (a first start with 100 prompts took seconds here, a
minute or more on a Pi Zero, with the box off the phone all that time)."""

from __future__ import annotations

import copy
import os
import socket
import threading
from pathlib import Path

import pytest

from appliance import config as configuration
from appliance.sim.simulation import Simulation
from tests.support.status import loop_status
from tests.support.waiting import wait_until

CALLER = "+79161234567"


@pytest.mark.slow  # 11 s at load 16: the real espeak-ng makes the default flow's prompts once the gate opens
def test_the_box_is_ready_before_its_prompts_are_made_and_an_early_caller_hears_them_when_they_are(
        tmp_path, monkeypatch):
    # espeak-ng, the real one, but only once the test opens the gate: until then every prompt is "being made"
    gate = tmp_path / "gate"
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "espeak-ng").write_text(f'#!/bin/sh\nwhile [ ! -e "{gate}" ]; do sleep 0.05; done\n'
                                     'exec /usr/bin/espeak-ng "$@"\n')
    (tools / "espeak-ng").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(str(tmp_path / "notify"))
    systemd.settimeout(30)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))

    raw = tmp_path / "gsm1.raw"
    document = copy.deepcopy(configuration.default_document())
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    simulation = Simulation(document, audio_device=f"file:FILE={raw},FORMAT=raw")
    daemon = simulation.daemon(configuration.parse(simulation.document, simulated=True), tmp_path / "data")
    starting = threading.Thread(target=daemon.start, daemon=True)
    loop = threading.Thread(target=daemon.run, daemon=True)
    try:
        starting.start()
        starting.join(20)
        assert not starting.is_alive(), "start() waited for the prompts to be made"
        assert systemd.recv(4096).decode().startswith("READY=1")
        assert not daemon.prompts_made.is_set()
        loop.start()

        emulator = simulation.emulators["gsm1"]
        emulator.incoming_call(CALLER)
        assert emulator.wait_for("ATA", timeout=10)
        asked = wait_until(lambda: [c for c in loop_status(daemon)["calls"] if c["prompt"]], what="a prompt asked")
        first = asked[0]["prompt"]  # the flow's first prompt, which does not exist yet
        assert first not in daemon.prompts

        gate.touch()
        assert daemon.prompts_made.wait(120)
        spoken = daemon.prompts[first].read_bytes()
        wait_until(lambda: raw.exists() and spoken in raw.read_bytes(), timeout=30,
                   what=f"the caller hears {first!r} once it is made")
    finally:
        gate.touch()  # on the old code start() is still making prompts: let it finish
        starting.join(120)
        daemon.stop()
        if loop.is_alive():
            loop.join(10)
        else:
            daemon.shutdown()
        simulation.close()
        systemd.close()


def test_a_failure_in_finishing_work_done_off_the_loop_is_logged_and_the_box_keeps_answering(tmp_path, caplog):
    from appliance.service.background import Done
    from tests.support.boxes import simulated_box

    def broken(_outcome) -> None:
        raise RuntimeError("a bug after the prompts were made")

    with simulated_box(tmp_path / "data") as (daemon, simulation):
        daemon.post(Done(broken, lambda: None))
        wait_until(lambda: "could not finish" in caplog.text, what="the failure logged")
        simulation.emulators["gsm1"].incoming_call(CALLER)
        wait_until(lambda: loop_status(daemon)["calls"], what="the next caller answered")


def children() -> list[str]:
    """The commands of this process's descendants still running (the prompt maker's child interpreter and the
    espeak-ng and sox it runs to make a prompt)."""
    running: dict[int, tuple[int, Path]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            running[int(stat.parent.name)] = (int(fields[1]), stat.parent)
    ours, found = {os.getpid()}, []
    while grown := [pid for pid, (parent, _) in running.items() if parent in ours and pid not in ours]:
        ours.update(grown)
        for pid in grown:
            try:
                found.append((running[pid][1] / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                continue
    return found


def test_a_stopped_box_writes_no_more_prompts(tmp_path, monkeypatch):
    """A stop while a prompt is being made waits (bounded) for that prompt: once shutdown() returns nothing writes in
    prompts/ (a bench or a restore that removes the data folder then found 'Directory not empty')."""
    gate, tools = tmp_path / "gate", tmp_path / "bin"
    tools.mkdir()
    (tools / "espeak-ng").write_text(f'#!/bin/sh\nwhile [ ! -e "{gate}" ]; do sleep 0.05; done\n'
                                     'exec /usr/bin/espeak-ng "$@"\n')
    (tools / "espeak-ng").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    document = copy.deepcopy(configuration.default_document())
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    simulation = Simulation(document)
    data = tmp_path / "data"
    daemon = simulation.daemon(configuration.parse(simulation.document, simulated=True), data)
    try:
        daemon.start()
        wait_until(lambda: any("espeak" in command for command in children()), what="a prompt being made")
        threading.Timer(0.5, gate.touch).start()  # it is let through while the box stops
        daemon.stop()
        daemon.shutdown()
        making = [command for command in children() if "espeak" in command or "sox" in command]
        assert making == [], "a prompt is still being made after the box stopped"
    finally:
        gate.touch()
        simulation.close()
