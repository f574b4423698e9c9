"""The interpreter and install a box runs, for the benches that time or weigh `hotline run` / `hotline web`.

A box (Raspberry Pi OS / Debian) runs Debian's python3: scripts/install.sh makes /opt/hotline/venv with the
system `python3 -m venv` and `pip install`s a clean copy of the tree into it (not editable; pip compiles
every module at install). This machine's PATH puts another build first (pyenv's, with a shared libpython:
~1.6 MB more resident for a bare `python -c pass`), so a bench that ran the tree's own .venv weighed an
interpreter no box has. `box()` makes the same venv from /usr/bin/python3 when it exists (otherwise from
the interpreter running the bench, and says so), cached under /tmp/hotline-bench and rebuilt when the
tree's sources change. `unit_environment()` is what the shipped unit's Environment= lines set.

    .venv/bin/python bench/boxenv.py        builds (or finds) the venv and prints its interpreter
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "hotline-bench"
SYSTEM_PYTHON = Path("/usr/bin/python3")
SOURCES = ("appliance", "web", "pyproject.toml", "README.md")


@dataclass(frozen=True)
class Box:
    """An installed box's venv: `bin` holds `python` and `hotline`; `note` names its interpreter for a row."""
    bin: Path
    note: str
    root: Path | None = None  # what stands for /opt/hotline: the unit's paths there are the box's here

    @property
    def hotline(self) -> Path:
        return self.bin / "hotline"

    @property
    def python(self) -> Path:
        return self.bin / "python"


def tree_hash() -> str:
    """A digest of every file pip would install from the tree (compiled caches left out), and of this file: a
    change in how the venv is made (`_build`) makes a new one."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for top in SOURCES:
        path = ROOT / top
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*")
                                                     if p.is_file() and "__pycache__" not in p.parts)
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _base() -> tuple[Path, str]:
    if SYSTEM_PYTHON.exists():
        return SYSTEM_PYTHON, "Debian's"
    return Path(sys.executable), "no /usr/bin/python3 here: the bench's own"


def _version(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def box() -> Box:
    """The cached venv for the tree as it is now, built first if needed (a minute at most; under a lock, so
    two benches never build the same one)."""
    base, whose = _base()
    version = _version(base)
    # one venv per checkout (several worktrees may bench at once), replaced when its sources change
    checkout = "venv-" + hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
    venv = CACHE / f"{checkout}-{version}-{tree_hash()}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "complete").exists():
            for old in CACHE.glob("venv-*"):  # each is ~200 MB: this checkout's older ones, and those of
                made_for = old / "checkout"     # checkouts gone (a CI run's fresh clone)
                if old.name.startswith(checkout) or (made_for.exists() and not Path(made_for.read_text()).exists()):
                    shutil.rmtree(old, ignore_errors=True)
            _build(base, venv)
    return Box(venv / "bin", f"{whose} python {version}, venv as install.sh makes it (not editable, compiled)",
               root=venv / "opt")


def peer() -> Box:
    """A venv of the same interpreter holding python-gsmmodem-new alone (the footprint's peer), so both sides
    of the comparison run on what a box has."""
    base, whose = _base()
    version = _version(base)
    venv = CACHE / f"peer-{version}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            _run([str(base), "-m", "venv", str(venv)], [str(venv / "bin/pip"), "install", "--quiet",
                                                         "python-gsmmodem-new"])
            (venv / "complete").touch()
    return Box(venv / "bin", f"{whose} python {version}")


def _run(*steps: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # pip compiles at install
    for step in steps:
        done = subprocess.run(step, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(step)} failed: {done.stderr[-2000:]}")


def _build(base: Path, venv: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="hotline-src-", dir=CACHE) as src:
        # install.sh's copy_source: the tree without dot-files, caches or build leftovers
        for top in SOURCES:
            path = ROOT / top
            if path.is_file():
                shutil.copy2(path, src)
            else:
                shutil.copytree(path, Path(src) / top, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        # install.sh's install_venv: the venv, the tree into it, and the daemon's bytecode into the prefix its
        # unit names (a tree from before the unit named one has no such step)
        steps = [[str(base), "-m", "venv", str(venv)], [str(venv / "bin/pip"), "install", "--quiet", src],
                 [str(venv / "bin/pip"), "uninstall", "--yes", "--quiet", "setuptools"]]
        if "PYTHONPYCACHEPREFIX" in unit_environment():
            steps.append([str(venv / "bin/python"), "-m", "appliance.ops.bytecode", str(venv / "opt/pycache")])
        _run(*steps)
    (venv / "checkout").write_text(str(ROOT))
    (venv / "complete").touch()


def unit_environment(unit: str = "hotline.service") -> dict[str, str]:
    """The Environment= assignments of a shipped unit (systemd/UNIT), as the daemon gets them on a box (every
    such line counts: systemd adds them up, which configparser's one-value-per-key would not)."""
    env: dict[str, str] = {}
    for line in (ROOT / "systemd" / unit).read_text().splitlines():
        if line.startswith("Environment="):
            for assignment in shlex.split(line.removeprefix("Environment=")):
                key, _, value = assignment.partition("=")
                env[key] = value
    return env


def box_environment(base: dict[str, str], unit: str = "hotline.service", box: Box | None = None) -> dict[str, str]:
    """`base` without this machine's PYTHON* settings (a box sets none but its unit's), plus the unit's, its
    /opt/hotline paths (the daemon's bytecode prefix) moved into `box`."""
    unit_env = unit_environment(unit)
    if box is not None and box.root is not None:
        unit_env = {k: v.replace("/opt/hotline", str(box.root)) for k, v in unit_env.items()}
    return {**{k: v for k, v in base.items() if not k.startswith("PYTHON")}, **unit_env}


if __name__ == "__main__":
    made = box()
    print(made.python, "-", made.note)
