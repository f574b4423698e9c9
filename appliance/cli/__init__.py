"""`hotline` — run, simulate and check the appliance: the command's arguments, and each sub-command handed to
the module that does it (serve.py: run, simulate, web; check.py: check; the tools in ops/, web/, fleet/)."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

DEFAULT_DATA = Path("/var/lib/hotline")


def build_parser() -> argparse.ArgumentParser:
    """Every `hotline` command and its arguments (the shipped systemd units are checked against this)."""
    import argparse

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


# The units' own command lines (systemd/hotline.service, hotline-web.service ExecStart): each option the unit may
# give, with its value's type as build_parser() has it (None: a switch), and what build_parser() gives one left out
# (an option with no default here is required).
UNIT_OPTIONS: dict[str, dict[str, Callable[[str], object] | None]] = {
    "run": {"--config": Path, "--data": Path},
    "web": {"--data": Path, "--host": str, "--port": int, "--behind-tls-proxy": None},
}


def _unit_defaults(command: str) -> dict[str, object]:
    return {"run": {"data": DEFAULT_DATA},
            "web": {"data": DEFAULT_DATA, "host": "127.0.0.1", "port": 8080, "trusted_host": [],
                    "behind_tls_proxy": False}}[command]


def as_the_unit_runs_it(argv: list[str]) -> SimpleNamespace | None:
    """A unit's own command line (`[-v] run --config FILE [--data DIR]`; `[-v] web [--data DIR] [--host HOST]
    [--port N] [--behind-tls-proxy]`), read without argparse: argparse (with gettext, ~0.3 MB) would stay in the
    daemon and the web process for their lives to read a few words once. None for any other form (abbreviations,
    `--config=FILE`, `--help`, a missing, repeated or malformed value, other options and commands): build_parser()
    reads those, with its messages. tests/unit/test_cli_run_arguments.py holds this to what build_parser() makes of
    the same words, for both units' lines."""
    verbose = argv[:1] in (["-v"], ["--verbose"])
    words = argv[1:] if verbose else argv
    if not words or words[0] not in UNIT_OPTIONS:
        return None
    command, options = words[0], UNIT_OPTIONS[words[0]]
    given, seen, rest = _unit_defaults(command), set(), iter(words[1:])
    for name in rest:
        if name not in options or name in seen:
            return None
        seen.add(name)
        kind, dest = options[name], name[2:].replace("-", "_")
        value = True if kind is None else next(rest, None)
        if value is None or (isinstance(value, str) and value.startswith("-")):
            return None
        try:
            given[dest] = value if kind is None else kind(value)
        except ValueError:
            return None
    if any(name[2:].replace("-", "_") not in given for name in options):
        return None  # a required option left out
    return SimpleNamespace(command=command, verbose=verbose, **given)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = as_the_unit_runs_it(argv) or build_parser().parse_args(argv)
    _setup_logging(args.verbose, journal_fields=args.command != "web")
    if args.command == "run":
        from ..dataclass_code import use

        use()  # the dataclasses' code compiled at install, not again at each start
        # Forked before the box is loaded (serve imports the config model and, through it, most of the box): a
        # first start's databases are made on the other core meanwhile. The daemon waits for it before it opens
        # the data directory.
        from ..service.schemas_ahead import SchemasAhead

        with SchemasAhead(args.data) as ahead:
            from . import serve

            return serve.run(args, before_start=ahead.join)
    if args.command == "web":
        # Not through serve: the web process loads the config model only with a page that needs it (serve_web.py).
        from .serve_web import web

        return web(args)
    from . import serve
    from .check import check

    handler = {"simulate": serve.simulate, "check": check,
               "dtmf-decode": _dtmf_decode, "firmware": _firmware, "token": _token,
               "setup-code": _setup_code, "user": _user, "tls-cert": _tls_cert, "fleet": _fleet}[args.command]
    return handler(args)


def _setup_logging(verbose: bool, journal_fields: bool) -> None:
    try:
        from ..service.notify import setup_logging
    except ImportError:
        logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return
    setup_logging(verbose, journal_fields=journal_fields)


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
    from ..ops.frontend import main as frontend_main

    return frontend_main(["cert", str(args.directory)])


def _user(args: argparse.Namespace) -> int:
    from web.user_admin import main as users_main

    return users_main(args.action, args.name, args.data)


def _dtmf_decode(args: argparse.Namespace) -> int:
    from ..audio.dtmf import main as dtmf_main

    return dtmf_main([args.file])


def _token(args: argparse.Namespace) -> int:

    from ..records.store.access import AccessStore

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
    from ..ops.firmware import main as firmware_main

    argv = ["--config", str(args.config), "--out", str(args.out)]
    return firmware_main(argv + (["--boot", str(args.boot)] if args.boot else []))


def _fleet(args: argparse.Namespace) -> int:
    from ..fleet.watch import main as fleet

    return fleet(args.config, once=args.once, wait=args.wait)


