"""What a modem lacks or warns about reaches the admin: the daemon's status alarms and `hotline check`.

A real daemon on the Huawei emulator (a pty) whose firmware refuses the voice probe with COMMAND NOT SUPPORT.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import tomli_w

from appliance import config as configuration
from appliance.service import control
from appliance.sim.simulation import Simulation
from tests.support.boxes import running_daemon
from tests.support.waiting import wait_until


@pytest.fixture
def box(tmp_path):
    document = configuration.default_document()
    document["lines"][0]["dialect"] = "huawei"
    simulation = Simulation(document)
    simulation.emulators["gsm1"].script.unsupported["AT^CVOICE?"] = "COMMAND NOT SUPPORT"
    config = tmp_path / "hotline.toml"
    config.write_text(tomli_w.dumps(simulation.document))
    try:
        with running_daemon(simulation, tmp_path / "data") as daemon:
            yield daemon, simulation, config
    finally:
        simulation.close()


def alarms(daemon) -> dict[str, tuple[str, str]]:
    return {a["id"]: (a["severity"], a["text"]) for a in control.call(daemon.control_path, "status")["alarms"]}


def test_a_missing_voice_capability_and_modem_warnings_are_alarms_in_status_and_check(box):
    daemon, simulation, config = box
    status = control.call(daemon.control_path, "status")
    assert status["lines"][0]["state"] == "up", "the line comes up without the voice probe"
    assert alarms(daemon)["line.gsm1.modem.voice"] == (
        "error", "line gsm1 runs without voice: AT^CVOICE? answered COMMAND NOT SUPPORT")
    simulation.emulators["gsm1"].report("UNDER-VOLTAGE WARNNING")
    wait_until(lambda: "line.gsm1.modem.power" in alarms(daemon), what="the under-voltage warning raised")
    checked = subprocess.run([sys.executable, "-m", "appliance.cli", "check", "--no-hardware", "--config",
                              str(config), "--data", str(daemon.data_dir)], capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 1
    assert "alarm line.gsm1.modem.voice (error): line gsm1 runs without voice" in checked.stderr
    assert "alarm line.gsm1.modem.power (warning): line gsm1: the modem reports UNDER-VOLTAGE WARNNING" \
        in checked.stdout
