"""The shipped systemd units start as shipped: their command lines parse, and an installed box answers."""

from __future__ import annotations

import configparser
import copy
import os
import shlex
import signal
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import tomli_w

from appliance import config as configuration
from appliance.cli import build_parser
from appliance.service import control
from appliance.sim.emulator import ModemEmulator
from tests.support.waiting import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
UNITS = sorted((REPO / "systemd").glob("*.service"))
INSTALLED_BINARY = "/opt/hotline/venv/bin/hotline"


def _exec_start(unit: Path) -> list[str]:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("="))
    parser.optionxform = str  # type: ignore[assignment]
    parser.read_string(unit.read_text())
    return shlex.split(parser["Service"]["ExecStart"])


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_every_unit_command_line_is_one_hotline_accepts(unit: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = _exec_start(unit)
    assert argv[0] == INSTALLED_BINARY
    try:
        build_parser().parse_args(argv[1:])
    except SystemExit as exc:
        pytest.fail(f"{unit.name}: `hotline {' '.join(argv[1:])}` is refused (exit {exc.code}): "
                    f"{capsys.readouterr().err}")


def _unit_environment(unit: Path, root: Path | None = None) -> dict[str, str]:
    """The unit's Environment= assignments (every such line: systemd adds them up), paths under the staging root
    if one is given."""
    env: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        if line.startswith("Environment="):
            for assignment in shlex.split(line.removeprefix("Environment=")):
                key, _, value = assignment.partition("=")
                env[key] = _staged([value], root, 0)[0] if root else value
    return env


@pytest.mark.parametrize("unit", ["hotline.service", "hotline-web.service"])
def test_the_bytecode_is_compiled_at_install_where_the_unit_looks_for_it(unit: str, tmp_path: Path) -> None:
    """The daemon and the web app run optimised (no docstrings held: ~1-2 MB each) from a bytecode prefix their
    user cannot write: install.sh must fill that prefix, or every start would compile each module it loads from
    source (a second or more on a Pi Zero)."""
    env = _unit_environment(REPO / "systemd" / unit)
    assert env.get("PYTHONOPTIMIZE") == "2" and env.get("PYTHONPYCACHEPREFIX"), env
    root = tmp_path / "root"
    installed = subprocess.run(["bash", str(REPO / "scripts/install.sh"), "--root", str(root)],
                               capture_output=True, text=True, timeout=120)
    assert installed.returncode == 0, installed.stderr
    plan = (root / "var/log/hotline-install.commands").read_text().splitlines()
    pip = next(i for i, command in enumerate(plan) if command.startswith("/opt/hotline/venv/bin/pip install"))
    assert f"/opt/hotline/venv/bin/python -m appliance.ops.bytecode {env['PYTHONPYCACHEPREFIX']}" in plan[pip:]


# What each unit's process runs: its own code and (the web) a library's, loaded under the unit's environment.
HELD_CODE = {"hotline.service": "from appliance.service.daemon import Daemon; codes = (Daemon.start, Daemon.stop)",
             "hotline-web.service": "from flask import Flask; from web import create_app; codes = (create_app, "
                                    "Flask.wsgi_app)"}


@pytest.mark.parametrize("unit", sorted(HELD_CODE))
def test_the_daemon_and_the_web_hold_their_code_without_column_tables(unit: str, tmp_path: Path) -> None:
    """Python 3.11 keeps, for every instruction of every function it loads, the columns a traceback underlines
    (~0.3 MB of the daemon's resident memory, ~0.15 MB of the web's, docs/proof.md); under its unit's environment
    each keeps line numbers alone, whether a module is compiled from source or loaded from its bytecode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(_unit_environment(REPO / "systemd" / unit), PYTHONPYCACHEPREFIX=str(tmp_path / "pycache"))
    probe = (f"import sys; sys.path.insert(0, sys.argv[1]); {HELD_CODE[unit]}; "
             "print(all(p[2:] == (None, None) for c in codes for p in c.__code__.co_positions()))")
    for load in ("compiled from source", "loaded from bytecode"):
        shown = subprocess.run([sys.executable, "-c", probe, str(REPO)], env=env, capture_output=True, text=True,
                               timeout=60, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.strip() == "True", load


def _staged_venv(root: Path) -> None:
    """What install.sh's `python3 -m venv` + `pip install /opt/hotline/src` make, inside the staging root.

    The venv takes its libraries from the test interpreter's site-packages (plain path, so this repo's
    own editable install is not picked up) and the appliance from the installed copy of the source.
    """
    venv = root / "opt/hotline/venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin/python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "hotline.pth").write_text(f"{root / 'opt/hotline/src'}\n{sysconfig.get_paths()['purelib']}\n")
    script = venv / "bin/hotline"
    script.write_text(f"#!{python}\nimport sys\nfrom appliance.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)


def _staged(argv: list[str], root: Path, port: int) -> list[str]:
    """The unit's command with its absolute paths under the staging root and port 80 made a free one."""
    out = []
    for arg in argv:
        if arg.startswith(("/opt/hotline", "/etc/hotline", "/var/lib/hotline")):
            arg = str(root) + arg
        out.append(arg)
    if "--port" in out:
        out[out.index("--port") + 1] = str(port)
    return out


def test_an_installed_box_starts_both_units_and_answers(tmp_path: Path) -> None:
    root = tmp_path / "root"
    installed = subprocess.run(["bash", str(REPO / "scripts/install.sh"), "--root", str(root)],
                               capture_output=True, text=True, timeout=120)
    assert installed.returncode == 0, installed.stderr
    _staged_venv(root)
    # The installed config names simulated modems; a pty emulator stands in for the real one here.
    emulator = ModemEmulator("sim800")
    emulator.start()
    config = root / "etc/hotline/hotline.toml"
    document = copy.deepcopy(configuration.load(config, simulated=True).document)
    for line in document["lines"]:
        line["port"] = emulator.port
    config.write_text(tomli_w.dumps(document))
    # As systemd starts each unit: with its Environment= (the daemon's optimisation level and bytecode prefix:
    # the prefix is not compiled here, so this start compiles what it loads into it)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(GPIOZERO_PIN_FACTORY="mock", HOTLINE_LOCK_DIR=str(tmp_path / "lock"))
    (tmp_path / "lock").mkdir()
    port = free_port()
    procs = []
    try:
        daemon_argv = _staged(_exec_start(REPO / "systemd/hotline.service"), root, port)
        daemon_env = {**env, **_unit_environment(REPO / "systemd/hotline.service", root)}
        procs.append(subprocess.Popen(daemon_argv, env=daemon_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, cwd=root / "var/lib/hotline"))
        control_socket = root / "var/lib/hotline/control.sock"

        def daemon_status() -> dict | None:
            assert procs[0].poll() is None, procs[0].communicate()[0]
            try:
                return control.call(control_socket, "status")
            except (control.ControlError, OSError):
                return None

        status = wait_until(daemon_status, timeout=60, what="the installed daemon's status socket")
        assert [line["state"] for line in status["lines"]] == ["up"], status
        web_argv = _staged(_exec_start(REPO / "systemd/hotline-web.service"), root, port)
        web_env = {**env, **_unit_environment(REPO / "systemd/hotline-web.service", root)}
        procs.append(subprocess.Popen(web_argv, env=web_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, cwd=root / "var/lib/hotline"))

        def page() -> int | None:
            assert procs[1].poll() is None, procs[1].communicate()[0]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as reply:
                    return reply.status
            except urllib.error.HTTPError as exc:
                return exc.code
            except OSError:
                return None

        assert wait_until(page, timeout=60, what="the installed web page") == 200
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        emulator.stop()


def _malloc_arenas(pid: int) -> list[str]:
    """The anonymous reservations glibc makes for a thread's own malloc arena (a heap of up to 64 MB on 64-bit,
    1 MB on 32-bit, mapped with no access beyond the part in use): a thread's stack guard is one page."""
    held = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split()
        start, end = (int(bound, 16) for bound in fields[0].split("-"))
        if fields[1] == "---p" and len(fields) == 5 and end - start >= 512 * 1024:
            held.append(line)
    return held


def test_the_daemons_threads_allocate_from_one_heap(tmp_path: Path) -> None:
    """glibc gives every thread that allocates an arena of its own and keeps it, with its touched pages, for the
    process's life: the idle daemon's six threads held ~0.3 MB that way, and a first start's prompt makers
    ~0.3 MB more (docs/proof.md). Under its unit's malloc settings the daemon's threads share the one heap."""
    sys.path.insert(0, str(REPO / "bench"))
    import hotline_process

    from bench.boxenv import unit_environment

    malloc = {k: v for k, v in unit_environment().items() if k.startswith("MALLOC_")}
    emulator = ModemEmulator("sim800")
    emulator.start()
    config, data = hotline_process.write_box(tmp_path, {"gsm1": emulator.port})
    hotline = hotline_process.Hotline(config, data, tmp_path / "hotline.log", extra_env=malloc)
    try:
        assert hotline.start() is not None, (tmp_path / "hotline.log").read_text()
        assert hotline.wait_for_prompts(), (tmp_path / "hotline.log").read_text()  # made by threads of their own
        assert hotline.proc is not None
        assert int(Path(f"/proc/{hotline.proc.pid}/status").read_text().split("Threads:")[1].split()[0]) > 1
        assert _malloc_arenas(hotline.proc.pid) == []
    finally:
        hotline.close()
        emulator.stop()
