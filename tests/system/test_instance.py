"""One box, one daemon: a second `hotline run` on the same data directory or serial port refuses to start."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.service import control
from appliance.service.instance import Instance, lock_name
from appliance.sim.emulator import ModemEmulator
from tests.support.boxes import write_config
from tests.support.processes import finish, stop
from tests.support.waiting import wait_until


@pytest.fixture
def emulators():
    started = []

    def make() -> ModemEmulator:
        emulator = ModemEmulator("sim800")
        emulator.start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


class Box:
    """`hotline run` as a subprocess, on a config whose one line is `port`."""

    def __init__(self, tmp: Path, name: str, port: str, data: Path, lock_dir: Path) -> None:
        self.config = tmp / f"{name}.toml"
        write_config(self.config, port)
        self.data = data
        env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock", HOTLINE_LOCK_DIR=str(lock_dir))
        env.pop("NOTIFY_SOCKET", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "appliance.cli", "run", "--config", str(self.config),
                                      "--data", str(data)], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def status(self) -> dict | None:
        assert self.proc.poll() is None, self.proc.communicate()
        try:
            return control.call(self.data / "control.sock", "status")
        except control.ControlError:
            return None

    def wait_up(self) -> dict:
        return wait_until(self.status, timeout=30, what="the daemon's status")

    def refused(self) -> str:
        out, err = finish(self.proc, 30, "when refused")
        assert self.proc.returncode == 1, (out, err)
        assert "Traceback" not in err
        return err

    def stop(self) -> None:
        stop(self.proc, 20)


@pytest.fixture
def boxes(tmp_path):
    started: list[Box] = []
    lock_dir = tmp_path / "lock"
    lock_dir.mkdir()

    def start(name: str, port: str, data: Path) -> Box:
        box = Box(tmp_path, name, port, data, lock_dir)
        started.append(box)
        return box

    start.lock_dir = lock_dir  # type: ignore[attr-defined]
    yield start
    with contextlib.ExitStack() as stopping:  # every box is stopped, even after one that would not
        for box in started:
            stopping.callback(box.stop)


def test_a_second_daemon_on_the_same_data_directory_is_refused(tmp_path, emulators, boxes):
    data = tmp_path / "data"
    first = boxes("first", emulators().port, data)
    first.wait_up()
    second = boxes("second", emulators().port, data)
    err = second.refused()
    assert f"another hotline daemon (pid {first.proc.pid}) is already running on {data}" in err
    # The first keeps its control socket, its line and its records.
    status = first.wait_up()
    assert [line["state"] for line in status["lines"]] == ["up"]


def test_a_second_daemon_on_the_same_serial_port_is_refused(tmp_path, emulators, boxes):
    port = emulators().port
    first = boxes("first", port, tmp_path / "one")
    first.wait_up()
    lock = boxes.lock_dir / lock_name(port)
    assert lock.read_text() == f"{first.proc.pid:10d}\n"  # the UUCP convention: ten digits, newline
    err = boxes("second", port, tmp_path / "two").refused()
    assert f"serial port {port} is in use by process {first.proc.pid} (lock file {lock})" in err
    assert first.wait_up()["lines"][0]["state"] == "up"
    first.stop()
    assert not lock.exists()  # released at a clean stop


def test_a_port_locked_by_another_program_is_left_to_it(tmp_path, emulators, boxes):
    port = emulators().port
    other = subprocess.Popen(["sleep", "60"])  # say, minicom holding the modem
    try:
        (boxes.lock_dir / lock_name(port)).write_text(f"{other.pid:10d}\n")
        err = boxes("box", port, tmp_path / "data").refused()
        assert f"serial port {port} is in use by process {other.pid}" in err
    finally:
        other.kill()
        other.wait()


def test_a_stale_lock_is_cleaned_and_the_box_starts(tmp_path, emulators, boxes):
    port = emulators().port
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer runs: its owner died without removing the lock
    lock = boxes.lock_dir / lock_name(port)
    lock.write_text(f"{gone.pid:10d}\n")
    box = boxes("box", port, tmp_path / "data")
    assert box.wait_up()["lines"][0]["state"] == "up"
    assert lock.read_text() == f"{box.proc.pid:10d}\n"


def test_network_ports_need_no_lock_and_symlinks_share_their_devices(tmp_path):
    instance = Instance(tmp_path, ["socket://192.0.2.1:7000", "rfc2217://modem:4000"], tmp_path)
    assert instance.serial == []
    target = tmp_path / "ttyUSB2"
    target.touch()
    (tmp_path / "by-id").symlink_to(target)
    assert lock_name(str(tmp_path / "by-id")) == lock_name(str(target))
    assert lock_name("/dev/ttyUSB2") == "LCK..ttyUSB2"
