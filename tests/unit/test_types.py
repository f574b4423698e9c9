"""The typed parts of the code stay type-clean: mypy finding an error fails the suite like any other bug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The core, the config, and the control commands (typed against commands_host.CommandHost, the part of the
# daemon they may use). One mypy run for all: each run pays for the standard library's stubs again.
TYPED = ["appliance/core", "appliance/config", "appliance/service/commands.py",
         "appliance/service/commands_calls.py", "appliance/service/commands_host.py"]


@pytest.mark.slow  # ~30 s on a loaded machine
def test_mypy_finds_nothing(tmp_path: Path) -> None:
    # Errors are reported for these only: a module they import from outside is another package's to fix.
    command = [sys.executable, "-m", "mypy", "--follow-imports=silent", "--cache-dir", str(tmp_path), *TYPED]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_daemon_has_everything_the_commands_use(tmp_path: Path) -> None:
    """mypy checks the commands against CommandHost; this checks the daemon they are given has each of its members
    (daemon.py itself is not in the typed set yet)."""
    from appliance import config as configuration
    from appliance.service.commands_host import CommandHost
    from appliance.service.daemon import Daemon

    daemon = Daemon(configuration.parse(configuration.default_document(), simulated=True), data_dir=tmp_path,
                    pin_factory=None)
    assert isinstance(daemon, CommandHost)
