"""The shipped unit files pass systemd's own checker and keep the promises the appliance relies on."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from appliance.ops import frontend

UNITS = sorted((Path(__file__).resolve().parents[2] / "systemd").glob("*.service"))
INSTALLED_BINARY = "/opt/hotline/venv/bin/hotline"
WEB, DAEMON = (next(u for u in UNITS if u.name == name) for name in ("hotline-web.service", "hotline.service"))

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")


def _settings(unit: Path) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment]  # unit keys are case-sensitive
    parser.read_string(unit.read_text())
    return {section: dict(parser[section]) for section in parser.sections()}


def _verify(unit_text: str, name: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """systemd-analyze verify on a copy whose ExecStart points at a stand-in (/opt/hotline is not here)."""
    stand_in = tmp_path / "hotline"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    copy = tmp_path / name
    copy.write_text(unit_text.replace(INSTALLED_BINARY, str(stand_in)))
    return subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_all_units_are_shipped() -> None:
    assert [u.name for u in UNITS] == ["hotline-tls.service", "hotline-web.service", "hotline.service"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_verifies_without_a_single_warning(unit: Path, tmp_path: Path) -> None:
    result = _verify(unit.read_text(), unit.name, tmp_path)
    assert result.returncode == 0, result.stderr
    # verify exits 0 on unknown keys and bad values: only stderr tells.
    assert result.stderr.strip() == ""


def test_the_checker_would_catch_a_misspelt_key(tmp_path: Path) -> None:
    unit = DAEMON.read_text().replace("WatchdogSec=", "WatchDogSec=")
    result = _verify(unit, "hotline.service", tmp_path)
    assert "WatchDogSec" in result.stderr


def test_daemon_unit_is_notify_with_watchdog_and_restart() -> None:
    service = _settings(DAEMON)["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert int(service["WatchdogSec"]) >= 10
    assert service["Restart"] == "on-failure"
    assert service["ExecStart"] == f"{INSTALLED_BINARY} run --config /etc/hotline/hotline.toml --data /var/lib/hotline"


def test_daemon_runs_as_hotline_with_device_groups_and_sees_devices() -> None:
    service = _settings(DAEMON)["Service"]
    assert service["User"] == "hotline"
    assert set(service["SupplementaryGroups"].split()) == {"dialout", "gpio", "audio"}
    # PrivateDevices would hide the modems' ttys, /dev/gpiochip* and /dev/snd from the daemon.
    assert service.get("PrivateDevices", "no") == "no"
    hardening = {"ProtectSystem": "strict", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
                 "ProtectHome": "yes", "StateDirectory": "hotline", "ConfigurationDirectory": "hotline"}
    for key, value in hardening.items():
        assert service[key] == value, key


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_config_directory_stays_readable_by_the_service_user(unit: Path) -> None:
    # ConfigurationDirectory= is owned by root: without o+rx the hotline user is locked out of its config.
    mode = int(_settings(unit)["Service"].get("ConfigurationDirectoryMode", "0755"), 8)
    assert mode & 0o005 == 0o005


def test_web_unit_listens_on_loopback_behind_the_https_front_end_with_no_capabilities() -> None:
    service = _settings(WEB)["Service"]
    assert "--host 127.0.0.1 --port 8080 --behind-tls-proxy" in service["ExecStart"]
    # where the front end forwards to by default
    assert frontend.render("@UPSTREAM@", cert=Path("c"), key=Path("k")) == "127.0.0.1:8080"
    assert service["User"] == "hotline"
    assert "AmbientCapabilities" not in service
    assert service["CapabilityBoundingSet"] == ""
    assert service["StandardOutput"] == "journal+console"  # the first-boot setup code reaches the console


def test_the_certificate_unit_runs_once_before_nginx_and_never_replaces_a_key() -> None:
    unit = _settings(next(u for u in UNITS if u.name == "hotline-tls.service"))
    assert unit["Unit"]["ConditionPathExists"] == "!/etc/hotline/tls/hotline.key"
    assert unit["Unit"]["Before"] == "nginx.service"
    assert unit["Service"]["ExecStart"] == f"{INSTALLED_BINARY} tls-cert /etc/hotline/tls"
