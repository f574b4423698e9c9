"""Every real adapter fits the port the service drives it through (appliance/ports.py), checked by mypy.

A driver whose method drifts from its port (a renamed method, a changed argument) fails here, before the
daemon meets it on a box.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

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


@pytest.mark.slow  # a cold mypy run
def test_the_real_adapters_fit_their_ports_and_the_service_uses_only_the_ports(tmp_path: Path) -> None:
    check = tmp_path / "conformance.py"
    check.write_text(CONFORMANCE)
    # Imported modules are read for their types but not reported on: this checks the seam, not every driver.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache"), str(check),
         "appliance/ports.py", "appliance/service/adapters.py", "appliance/service/actions.py"],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
