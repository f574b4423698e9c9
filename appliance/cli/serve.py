"""`hotline run`, `simulate` and `web`: the daemon and the web app put together, the one place they meet
(the composition root), run until a signal stops them."""

from __future__ import annotations

import logging
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config as configuration
from ..core.problems import Problem
from .check import load_config, print_problems

if TYPE_CHECKING:
    import argparse

log = logging.getLogger("hotline")


RESTART = 75  # "Restart now" from the web page: a non-zero status, so systemd's Restart=on-failure starts us again


def run_daemon(daemon: Any) -> int:
    from ..audio.prompts import PromptError
    from ..modem.line import ModemError
    from ..service.control_server import ControlRequest

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping", signum)
        daemon.stop()

    def on_reload(_signum: int, _frame: object) -> None:
        daemon.post(ControlRequest("config.reload", {}))

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_reload)
    try:
        daemon.start()
    except (PromptError, ModemError, OSError, sqlite3.DatabaseError, RuntimeError) as exc:
        # Everything started so far is already switched off again (Daemon.start cleans up).
        print(f"hotline could not start: {exc}", file=sys.stderr)
        return 1
    try:
        daemon.run()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return RESTART if daemon.restart_requested else 0


def _some_modem_present(config: configuration.Config) -> bool:
    """A modem unplugged at boot leaves its line down until it appears; with none there, nothing would work."""
    missing = [(i, line) for i, line in enumerate(config.lines)
               if line.port.startswith("/") and not Path(line.port).exists()]
    severity = "error" if len(missing) == len(config.lines) else "warning"
    for i, line in missing:
        print_problems([Problem(f"lines[{i}].port", f"{line.port} does not exist (is the modem plugged in and "
                                 "powered?); the line stays down until it appears", severity)])
    if severity == "error":
        print(f"{len(missing)} problem(s): no modem is there; nothing started.", file=sys.stderr)
        return False
    return True


def _saved_config(data: Path) -> Path | None:
    """The config last applied from the web page, kept in the state directory."""
    saved = data / "config.toml"
    return saved if saved.exists() else None


def run(args: argparse.Namespace, before_start: Callable[[], None] = lambda: None) -> int:
    """`before_start`: waited for before the daemon touches its data directory (a child making its databases)."""
    from ..config.startup import choose
    from ..handsets.gpio_backend import NoGpioError, real_pin_factory
    from ..service.daemon import Daemon
    from ..service.instance import default_lock_dir

    # The web page's last applied config, or when it is unusable a good revision or --config (an alarm).
    choice = choose(args.config, args.data, time.time())
    args.config = choice.path
    config = choice.config or load_config(args.config, check_devices=False)
    if config is None or not _some_modem_present(config):
        return 1
    try:
        pin_factory = real_pin_factory()
    except NoGpioError as exc:
        print(f"hotline could not start: {exc}", file=sys.stderr)
        return 1
    daemon = Daemon(config, data_dir=args.data, pin_factory=pin_factory, lock_dir=default_lock_dir())
    if choice.alarm:
        daemon.alarms.set("start.config", "warning", choice.alarm)
    daemon.commands["config.reload"] = lambda _args: _reload(daemon, args.config)
    before_start()
    return run_daemon(daemon)


def _reload(daemon: Any, path: Path) -> Any:
    """SIGHUP: read the config file again; a bad one is reported and the running config stays in force."""
    try:
        config = configuration.load(path)
    except configuration.ConfigError as exc:
        log.error("config reload refused, the running config stays in force:\n%s", exc)
        raise ValueError(str(exc)) from None

    def applied() -> dict[str, Any]:
        log.info("config reloaded from %s", path)
        return {"reloaded": str(path)}

    return daemon.reconfigure_later(config, applied)  # replies once the new prompts are made, off the loop


def simulate(args: argparse.Namespace) -> int:
    from ..sim.simulation import Simulation

    source = args.config or _saved_config(args.data)
    if source:
        try:
            import tomllib

            document = tomllib.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"{source}: {exc}", file=sys.stderr)
            return 1
    else:
        document = configuration.default_document()
    simulation = Simulation(document)
    try:
        config = configuration.parse(simulation.document, simulated=True)
    except configuration.ConfigError as exc:
        print_problems(exc.problems)
        simulation.close()
        return 1
    daemon = simulation.daemon(config, args.data)
    server = _serve_web(args.data, "127.0.0.1", args.port, daemon.control_path)
    print(f"hotline simulate: web page and API on http://127.0.0.1:{args.port}/ "
          f"(API token in {args.data / 'api-token'})", flush=True)
    try:
        return run_daemon(daemon)
    finally:
        server.close()
        simulation.close()


def _serve_web(data: Path, host: str, port: int, control_path: Path) -> Any:
    from waitress.server import create_server

    from web import create_app
    from web.firstboot import announce

    app = create_app(data, control_path=control_path)
    server = create_server(app, host=host, port=port, threads=4)
    if not app.extensions["web_store"].has_users():
        announce(data)
    threading.Thread(target=server.run, name="web", daemon=True).start()
    return server

