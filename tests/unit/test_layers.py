"""The architecture holds: import-linter's contracts (pyproject.toml [tool.importlinter], drawn in
docs/architecture.md) fail the suite when a module imports across a layer, when the core imports the rest of the
appliance or a hardware, disk or web library, when one hardware adapter imports another, or when web/ reaches into
the service other than through the control-socket client."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_contract_is_kept() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_contracts_guard_what_the_architecture_says() -> None:
    """Guard against a check that cannot fail: the four contracts are there and name the packages they guard."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = {contract["id"]: contract for contract in config["contracts"]}
    assert set(contracts) == {"core", "adapters", "layers", "web"}
    assert config["include_external_packages"] is True  # else the hardware libraries are invisible to "core"
    assert {"serial", "gpiozero", "alsaaudio", "sqlite3", "flask"} <= set(contracts["core"]["forbidden_modules"])
    assert contracts["layers"]["layers"][0] == "appliance.cli" and contracts["layers"]["layers"][-1] == "appliance.core"
