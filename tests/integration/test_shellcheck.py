"""Every shell script we ship passes shellcheck, including the ones pi-gen sources without a .sh name."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p for d in ("scripts", "image") for p in (REPO / d).rglob("*.sh") if "pi-gen" not in p.parts)
SOURCED = [REPO / "image/stage-hotline/EXPORT_IMAGE"]

pytestmark = pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")


def test_the_scripts_are_found() -> None:
    names = {str(p.relative_to(REPO)) for p in SCRIPTS}
    assert {"scripts/install.sh", "image/build.sh", "image/stage-hotline/prerun.sh",
            "image/stage-hotline/00-hotline/00-run.sh",
            "image/stage-hotline/00-hotline/00-run-chroot.sh"} <= names


@pytest.mark.parametrize("script", SCRIPTS + SOURCED, ids=lambda p: str(p.relative_to(REPO)))
def test_shellcheck_clean(script: Path) -> None:
    result = subprocess.run(["shellcheck", "--shell=bash", "--severity=style", str(script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(REPO)))
def test_scripts_are_executable(script: Path) -> None:
    # pi-gen skips a NN-run.sh that is not executable, silently.
    assert script.stat().st_mode & 0o111
