"""The typed parts of the code stay type-clean, and every real adapter fits its port: mypy finding an error
fails the suite like any other bug.

The ports' seam: each real adapter fits the port the service drives it through (appliance/ports.py), and the
service uses only the ports. A driver whose method drifts from its port (a renamed method, a changed argument)
fails here, before the daemon meets it on a box. It used to be a mypy run of its own (tests/unit/test_ports.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The core, the config, the modems, the prompt maker and the control commands (typed against
# commands_host.CommandHost, the part of the daemon they may use). One mypy run for all: each run pays for the
# standard library's stubs again.
TYPED = ["appliance/core", "appliance/config", "appliance/modem", "appliance/service/commands.py",
         "appliance/service/commands_calls.py", "appliance/service/commands_host.py", "appliance/service/prompts.py"]
# The ports' seam: the conformance file below assigns each real adapter to its port.
SEAM = ["appliance/ports.py", "appliance/service/adapters.py", "appliance/service/actions.py"]

CONFORMANCE = '''
from appliance.audio.player import AlsaPlayer
from appliance.audio.recorder import AlsaRecorder
from appliance.audio.serial_audio import SerialAudio
from appliance.core.clock import BoxClock
from appliance.handsets.devices import Handset, SlicHandset
from appliance.handsets.parts import PresenceSwitch
from appliance.modem.line import ModemLine
from appliance.ports import Clock, HandsetPort, LinePort, PlayerPort, PresencePort, RecorderPort

def modem(x: ModemLine) -> LinePort: return x
def sound_card(x: AlsaPlayer) -> PlayerPort: return x
def voice_modem_audio(x: SerialAudio) -> PlayerPort: return x
def recorder(x: AlsaRecorder) -> RecorderPort: return x
def relay_handset(x: Handset) -> HandsetPort: return x
def slic_handset(x: SlicHandset) -> HandsetPort: return x
def presence(x: PresenceSwitch) -> PresencePort: return x
def clock(x: BoxClock) -> Clock: return x
'''


@pytest.mark.slow  # ~30 s on a loaded machine
def test_mypy_finds_nothing(tmp_path: Path) -> None:
    # Errors are reported for these only: a module they import from outside is another package's to fix.
    conformance = tmp_path / "conformance.py"
    conformance.write_text(CONFORMANCE)
    command = [sys.executable, "-m", "mypy", "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache"),
               *TYPED, *SEAM, str(conformance)]
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
