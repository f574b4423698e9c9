"""`hotline` — run, simulate and check the appliance."""

from __future__ import annotations

import argparse
import logging
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import config as configuration
from .core.problems import Problem

log = logging.getLogger("hotline")

DEFAULT_DATA = Path("/var/lib/hotline")


def build_parser() -> argparse.ArgumentParser:
    """Every `hotline` command and its arguments (the shipped systemd units are checked against this)."""
    parser = argparse.ArgumentParser(prog="hotline", description="A Raspberry Pi telephone hotline.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon on real hardware")
    run.add_argument("--config", required=True, type=Path)
    run.add_argument("--data", type=Path, default=DEFAULT_DATA, help="state directory (database, prompts)")

    sim = sub.add_parser("simulate", help="the whole box (daemon + web page) on simulated hardware")
    sim.add_argument("--port", type=int, default=8080)
    sim.add_argument("--data", type=Path, default=Path("data"))
    sim.add_argument("--config", type=Path, help="a config to simulate instead of the built-in one")

    check = sub.add_parser("check", help="check a config (and, on a Pi, the hardware); exit 1 if anything is wrong")
    check.add_argument("--config", required=True, type=Path)
    check.add_argument("--hardware", action=argparse.BooleanOptionalAction, default=None,
                       help="also probe serial ports, sound cards, GPIO and power (default: on a Raspberry Pi)")
    check.add_argument("--data", type=Path, default=DEFAULT_DATA,
                       help="state directory: the running daemon's alarms are shown from here")
    check.add_argument("--fix", action="store_true",
                       help="with --hardware: switch VoLTE on in LTE modules that have it off (docs/modems.md)")

    web = sub.add_parser("web", help="serve the web app for a running daemon")
    web.add_argument("--data", type=Path, default=DEFAULT_DATA)
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8080)
    web.add_argument("--trusted-host", action="append", default=[], metavar="NAME",
                     help="another name (or address) the box answers to, besides its own; repeatable")
    web.add_argument("--behind-tls-proxy", action="store_true",
                     help="served by the HTTPS front end on this box (nginx): trust its forwarded headers, "
                          "Secure cookies")

    setup_code = sub.add_parser("setup-code", help="show the one-time code the first-boot setup page asks for")
    setup_code.add_argument("--data", type=Path, default=DEFAULT_DATA)

    tls = sub.add_parser("tls-cert", help="make the HTTPS front end's self-signed certificate unless one is there")
    tls.add_argument("directory", type=Path, nargs="?", default=Path("/etc/hotline/tls"))

    user = sub.add_parser("user", help="web users on a box whose admin is locked out")
    user.add_argument("action", choices=("list", "reset-password"))
    user.add_argument("name", nargs="?", help="the user whose password to set (reset-password)")
    user.add_argument("--data", type=Path, default=DEFAULT_DATA)

    dtmf = sub.add_parser("dtmf-decode", help="print the DTMF digits found in a WAV recording")
    dtmf.add_argument("file")

    firmware = sub.add_parser("firmware", help="write the Pi boot config fragment, udev rules and watchdog drop-in")
    firmware.add_argument("--config", required=True, type=Path)
    firmware.add_argument("--out", required=True, type=Path)
    firmware.add_argument("--boot", type=Path, help="boot partition to merge config.txt/cmdline.txt into")

    token = sub.add_parser("token", help="API tokens for integrations (a CRM, a dashboard)")
    token.add_argument("action", choices=("create", "revoke", "list"))
    token.add_argument("client", nargs="?", help="who the token is for")
    token.add_argument("--role", default="operator", help="what the token may see: operator, supervisor, admin")
    token.add_argument("--data", type=Path, default=DEFAULT_DATA)

    fleet = sub.add_parser("fleet", help="every box sharing the [fleet] MQTT broker: online, lines, operators, queue")
    fleet.add_argument("--config", required=True, type=Path, help="a config with the [fleet] table to connect with")
    fleet.add_argument("--once", action="store_true", help="print once and exit, instead of at every change")
    fleet.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the broker")

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    handler = {"run": _run, "simulate": _simulate, "check": _check, "web": _web,
               "dtmf-decode": _dtmf_decode, "firmware": _firmware, "token": _token,
               "setup-code": _setup_code, "user": _user, "tls-cert": _tls_cert, "fleet": _fleet}[args.command]
    return handler(args)


def _setup_logging(verbose: bool) -> None:
    try:
        from .service.notify import setup_logging
    except ImportError:
        logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return
    setup_logging(verbose)


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr if problem.severity == "error" else sys.stdout)


def _load(path: Path, simulated: bool = False, check_devices: bool = True) -> configuration.Config | None:
    try:
        config = configuration.load(path, simulated=simulated, check_devices=check_devices)
    except configuration.ConfigError as exc:
        _print_problems(exc.problems)
        print(f"{path}: {len(exc.problems)} problem(s); nothing started.", file=sys.stderr)
        return None
    _print_problems(list(config.warnings))
    return config


def _on_a_pi() -> bool:
    try:
        return "Raspberry Pi" in Path("/proc/device-tree/model").read_text(errors="replace")
    except OSError:
        return False


def _check(args: argparse.Namespace) -> int:
    config = _load(args.config)
    status = 0
    if config is None:
        status = 1
    else:
        print(f"{args.config}: OK — {len(config.lines)} line(s), {len(config.handsets)} handset(s), "
              f"{len(config.flow.nodes)} flow nodes")
        if any(node.type == "speak" for node in config.flow.nodes.values()):
            from .speech.capacity import judge

            verdict = judge(config.speech.engine, config.speech.min_free_mb)
            print(f"speech: {verdict.why}" if verdict.on else
                  f"speech: OFF — {verdict.why}; callers at speak nodes use the keys")
    if args.hardware or (args.hardware is None and _on_a_pi()):
        from .ops.hwcheck import answering_lines, format_findings, probe

        ports = {line.id: line.port for line in config.lines} if config else None
        voice = {line.id: line.audio_port for line in config.lines if line.audio_port} if config else None
        forwards = {line.id: (line.forward_to, line.forward_on) for line in config.lines if line.forward_to} \
            if config else None
        findings = probe(ports, voice_ports=voice, fix=args.fix, forwards=forwards)
        print(format_findings(findings))
        _forget_refusals(args.data, answering_lines(findings))
        if any(not finding.ok for finding in findings):
            status = 1
    if _print_alarms(args.data, config):
        status = 1
    return status


def _forget_refusals(data: Path, lines: list[str]) -> None:
    """The modems just asked anew: a network's refusal of hold or joining calls that the daemon kept is forgotten,
    so remote operators are tried on those lines again (service/refusals.py)."""
    from .service import refusals

    if not data.is_dir():
        return
    for line in refusals.forget(data, lines):
        print(f"line {line}: the network's earlier refusal of hold or joining calls is forgotten; remote "
              "operators are tried there again")


def _print_alarms(data: Path, config: configuration.Config | None) -> bool:
    """The running daemon's alarms (docs/alarms.md), or without one the disk's; True when there is any."""
    from .diskspace import low_space
    from .service import control

    path = data / "control.sock"
    if not path.exists():  # no daemon runs on this data directory: the free space is all there is to judge
        records = config.records if config else configuration.Records()
        low = low_space(data, records.warn_free_mb, records.warn_free_percent) if data.is_dir() else None
        if low:
            print(f"alarm disk.low (warning): {low}")
        return bool(low)
    try:
        reply = control.call(path, "status", timeout=3.0)
    except control.ControlError as exc:
        print(f"{data}: {exc}")
        return False
    alarms = reply.get("alarms", [])
    for alarm in alarms:
        print(f"alarm {alarm['id']} ({alarm['severity']}): {alarm['text']}",
              file=sys.stderr if alarm["severity"] == "error" else sys.stdout)
    if not alarms:
        print(f"{data}: the running daemon raises no alarm")
    return bool(alarms)


RESTART = 75  # "Restart now" from the web page: a non-zero status, so systemd's Restart=on-failure starts us again


def _run_daemon(daemon: Any) -> int:
    from .audio.prompts import PromptError
    from .modem.line import ModemError
    from .service.control_server import ControlRequest

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
        _print_problems([Problem(f"lines[{i}].port", f"{line.port} does not exist (is the modem plugged in and "
                                 "powered?); the line stays down until it appears", severity)])
    if severity == "error":
        print(f"{len(missing)} problem(s): no modem is there; nothing started.", file=sys.stderr)
        return False
    return True


def _saved_config(data: Path) -> Path | None:
    """The config last applied from the web page, kept in the state directory."""
    saved = data / "config.toml"
    return saved if saved.exists() else None


def _run(args: argparse.Namespace) -> int:
    from .config.startup import choose
    from .handsets.gpio_backend import NoGpioError, real_pin_factory
    from .service.daemon import Daemon
    from .service.instance import default_lock_dir

    # The web page's last applied config, or when it is unusable a good revision or --config (an alarm).
    choice = choose(args.config, args.data, time.time())
    args.config = choice.path
    config = choice.config or _load(args.config, check_devices=False)
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
    return _run_daemon(daemon)


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


def _simulate(args: argparse.Namespace) -> int:
    from .sim.simulation import Simulation

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
        _print_problems(exc.problems)
        simulation.close()
        return 1
    daemon = simulation.daemon(config, args.data)
    server = _serve_web(args.data, "127.0.0.1", args.port, daemon.control_path)
    print(f"hotline simulate: web page and API on http://127.0.0.1:{args.port}/ "
          f"(API token in {args.data / 'api-token'})", flush=True)
    try:
        return _run_daemon(daemon)
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


def _web(args: argparse.Namespace) -> int:
    from waitress import serve

    from web import create_app
    from web.firstboot import announce

    app = create_app(args.data, trusted_hosts=args.trusted_host, behind_tls_proxy=args.behind_tls_proxy)
    if not app.extensions["web_store"].has_users():
        announce(args.data)
    serve(app, host=args.host, port=args.port, threads=4)
    return 0


def _setup_code(args: argparse.Namespace) -> int:
    from web import firstboot

    try:
        code = firstboot.read(args.data)
    except PermissionError:
        print(f"hotline setup-code: {args.data} is readable by the hotline user and root only: run it with sudo",
              file=sys.stderr)
        return 1
    if code is None:
        print(f"hotline setup-code: no setup code in {args.data}: the box is set up already (log in), "
              "or the web service has not started yet", file=sys.stderr)
        return 1
    print(code)
    return 0


def _tls_cert(args: argparse.Namespace) -> int:
    from .ops.frontend import main as frontend_main

    return frontend_main(["cert", str(args.directory)])


def _user(args: argparse.Namespace) -> int:
    from web.user_admin import main as users_main

    return users_main(args.action, args.name, args.data)


def _dtmf_decode(args: argparse.Namespace) -> int:
    from .audio.dtmf import main as dtmf_main

    return dtmf_main([args.file])


def _token(args: argparse.Namespace) -> int:
    import time

    from .records.store.access import AccessStore

    if args.action != "list" and not args.client:
        print(f"hotline token {args.action}: name the client", file=sys.stderr)
        return 2
    access = AccessStore(args.data / "access.db")
    try:
        if args.action == "create":
            print(access.create_token(args.client, now=time.time(), role=args.role))
        elif args.action == "revoke":
            print(f"revoked {access.revoke_tokens(args.client, now=time.time())} token(s) of {args.client}")
        else:
            for row in access.tokens():
                state = "revoked" if row["revoked_at"] else "live"
                print(f"{row['id']:>4}  {row['client']:<30} {row['role']:<10} {state}")
    except (ValueError, LookupError) as exc:
        print(f"hotline token {args.action}: {exc}", file=sys.stderr)
        return 1
    finally:
        access.close()
    return 0


def _firmware(args: argparse.Namespace) -> int:
    from .ops.firmware import main as firmware_main

    argv = ["--config", str(args.config), "--out", str(args.out)]
    return firmware_main(argv + (["--boot", str(args.boot)] if args.boot else []))


def _fleet(args: argparse.Namespace) -> int:
    from .fleet.watch import main as fleet

    return fleet(args.config, once=args.once, wait=args.wait)


if __name__ == "__main__":
    sys.exit(main())
