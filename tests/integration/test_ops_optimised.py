"""The box runs its Python optimised: the daemon's unit sets PYTHONOPTIMIZE=2, which drops every docstring, and
an admin's shell on the box may carry the same setting. The box's commands must still start there."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["appliance.ops.frontend", "appliance.ops.firmware", "appliance.cli"])
def test_a_box_command_shows_its_help_without_docstrings(module: str) -> None:
    ran = subprocess.run([sys.executable, "-OO", "-m", module, "--help"], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("usage:"), ran.stdout
