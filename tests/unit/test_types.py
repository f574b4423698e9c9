"""The typed parts of the code stay type-clean: mypy finding an error fails the suite like any other bug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # mypy takes ~30 s for each package
@pytest.mark.parametrize("package", ["appliance/core", "appliance/config"])
def test_mypy_finds_nothing(package: str, tmp_path: Path) -> None:
    # Errors are reported for the package only: a module it imports from outside is another package's to fix.
    command = [sys.executable, "-m", "mypy", "--follow-imports=silent", "--cache-dir", str(tmp_path), package]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
