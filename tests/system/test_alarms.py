"""The alarm list: raised by any part of the daemon, seen in status, on the dashboard's poll and by `hotline check`."""

from __future__ import annotations

import subprocess
import sys

import pytest
import tomli_w

from appliance import config as configuration
from appliance.service import control
from appliance.service.alarms import Alarms


def test_an_alarm_keeps_its_first_moment_and_goes_when_cleared():
    now = [100.0]
    alarms = Alarms(lambda: now[0])
    alarms.set("disk.low", "warning", "the data disk has 50 MB free")
    now[0] = 200.0
    alarms.set("disk.low", "warning", "the data disk has 40 MB free")
    alarms.set("disk.write", "error", "records cannot be written")
    assert alarms.active() == [
        {"id": "disk.write", "severity": "error", "text": "records cannot be written", "since": 200.0},
        {"id": "disk.low", "severity": "warning", "text": "the data disk has 40 MB free", "since": 100.0},
    ]
    assert [a["id"] for a in alarms.active("disk.w")] == ["disk.write"]
    alarms.clear("disk.write")
    alarms.clear("never.raised")
    assert [a["id"] for a in alarms.active()] == ["disk.low"]
    with pytest.raises(ValueError, match="severity"):
        alarms.set("x", "panic", "no such severity")


@pytest.fixture
def box(start_box, tmp_path):
    """A real daemon on simulated hardware, and its config file."""
    daemon, simulation = start_box()
    config = tmp_path / "hotline.toml"
    config.write_text(tomli_w.dumps(simulation.document))
    return daemon, config


def check(config, data) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance.cli", "check", "--no-hardware", "--config", str(config),
                           "--data", str(data)], capture_output=True, text=True, timeout=60)


def test_status_and_hotline_check_show_the_daemons_alarms(box):
    daemon, config = box
    assert control.call(daemon.control_path, "status")["alarms"] == []
    quiet = check(config, daemon.data_dir)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "no alarm" in quiet.stdout

    daemon.alarms.set("test.alarm", "error", "something an admin must fix")
    alarms = control.call(daemon.control_path, "status")["alarms"]
    assert [(a["id"], a["severity"], a["text"]) for a in alarms] == [
        ("test.alarm", "error", "something an admin must fix")]
    loud = check(config, daemon.data_dir)
    assert loud.returncode == 1
    assert "alarm test.alarm (error): something an admin must fix" in loud.stderr


@pytest.mark.parametrize(("storage", "field"), [
    ({"warn_free_mb": -1}, "storage.warn_free_mb"),
    ({"warn_free_percent": 150}, "storage.warn_free_percent"),
    ({"warn_free_mb": "lots"}, "storage.warn_free_mb"),
    ({"free": 5}, "storage.free"),
])
def test_a_bad_free_space_threshold_is_named(storage, field):
    document = dict(configuration.default_document(), storage=storage)
    with pytest.raises(configuration.ConfigError) as refused:
        configuration.parse(document, simulated=True)
    assert field in [problem.field for problem in refused.value.problems]


def test_the_free_space_thresholds_default_to_100_mb_or_5_percent_and_can_be_set():
    default = configuration.parse(configuration.default_document(), simulated=True).records
    assert (default.warn_free_mb, default.warn_free_percent) == (100.0, 5.0)
    document = dict(configuration.default_document(), storage={"warn_free_mb": 500, "warn_free_percent": 0})
    records = configuration.parse(document, simulated=True).records
    assert (records.warn_free_mb, records.warn_free_percent) == (500.0, 0.0)
