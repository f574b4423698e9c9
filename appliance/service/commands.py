"""Control commands the web page needs: read and apply the config, test-ring a handset, override the schedule.

Each runs on the daemon's event loop (the control socket posts it there), so it never races a call.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from typing import Any

from .. import config as configuration
from ..files import atomic_write
from ..ports import HandsetPort
from . import override
from .background import Pending
from .commands_host import CommandHost, running
from .control_server import ControlRequest

log = logging.getLogger(__name__)

MAX_TEST_RING = 10.0


def register(daemon: CommandHost) -> None:
    """Add the web page's commands to daemon.commands."""
    daemon.commands.update({
        "config.get": lambda _args: _config_get(daemon),
        "config.apply": lambda args: _config_apply(daemon, args),
        "handset.test_ring": lambda args: _test_ring(daemon, args),
        "handset.test_ring_stop": lambda args: _test_ring_stop(daemon, args),
        "schedule.override": lambda args: _schedule_override(daemon, args),
        "box.restart": lambda _args: _restart(daemon),
    })


def _config_get(daemon: CommandHost) -> dict[str, Any]:
    core, _ = running(daemon)
    return {"document": daemon.config.document, "override": core.status()["schedule"]["override"]}


def _config_apply(daemon: CommandHost, args: dict[str, Any]) -> Pending:
    text = args.get("toml")
    if not isinstance(text, str):
        raise ValueError("config.apply needs the document as TOML text in \"toml\"")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"the document is not valid TOML: {exc}") from None
    try:
        config = configuration.parse(document)
    except configuration.ConfigError as exc:
        raise ValueError("; ".join(str(p) for p in exc.problems)) from None
    old = daemon.config
    # Lines and handsets are hardware: they are rebuilt at the next start, never under a live call.
    # So are the operators and the queue's settings: the switchboard's router holds them with their live state.
    restart = (old.lines != config.lines or old.handsets != config.handsets or old.cadence != config.cadence
               or old.people.operators != config.people.operators or old.people.queue != config.people.queue
               or old.people.shifts() != config.people.shifts())

    def applied() -> dict[str, Any]:
        _keep(daemon, text)
        log.info("config applied from the web page%s", " (hardware changes wait for a restart)" if restart else "")
        return {"applied": True, "restart_needed": restart, "warnings": [str(p) for p in config.warnings]}

    return daemon.reconfigure_later(config, applied)  # replies once the new prompts are made, off the loop


def _keep(daemon: CommandHost, text: str) -> None:
    """The applied document survives a restart as data_dir/config.toml (written atomically)."""
    atomic_write(daemon.data_dir / "config.toml", text, mode=0o640)


def _handset(daemon: CommandHost, args: dict[str, Any]) -> tuple[str, HandsetPort]:
    handset_id = args.get("handset")
    if handset_id not in daemon.handsets:
        raise LookupError(f"no handset {handset_id!r}")
    return handset_id, daemon.handsets[handset_id]


def _state(daemon: CommandHost, handset_id: str) -> str:
    """What the switchboard thinks the handset is doing (idle, ringing, on call...)."""
    core, _ = running(daemon)
    return next((h["state"] for h in core.status()["handsets"] if h["id"] == handset_id), "unknown")


def _test_ring(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    handset_id, device = _handset(daemon, args)
    state = _state(daemon, handset_id)
    if state != "idle":
        raise ValueError(f"handset {handset_id} is {state}: a test ring would disturb a call")
    seconds = args.get("seconds", 3)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 < seconds <= MAX_TEST_RING:
        raise ValueError(f"seconds must be a number between 0 and {MAX_TEST_RING:g}")
    device.ring()
    # The stop goes back through the loop like any command, so it never races a call's own ringing.
    stop = ControlRequest("handset.test_ring_stop", {"handset": handset_id})
    timer = threading.Timer(seconds, daemon.post, args=(stop,))
    timer.daemon = True
    timer.start()
    return {"handset": handset_id, "ringing_for": seconds}


def _test_ring_stop(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    handset_id, device = _handset(daemon, args)
    if _state(daemon, handset_id) == "idle":
        device.stop_ringing()
    return {"handset": handset_id, "ringing": device.is_ringing}


def _restart(daemon: CommandHost) -> dict[str, Any]:
    """Stop so the service manager starts the box again (exit status RESTART): lines and handsets are rebuilt."""
    core, _ = running(daemon)
    calls = len(core.live_calls)
    if calls:
        raise ValueError(f"{calls} call(s) in progress: restart when the lines are quiet")
    daemon.restart_requested = True
    daemon.stop()  # queued behind this command: its reply goes out first
    log.info("restart asked for from the web page")
    return {"restarting": True}


def _schedule_override(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    mode = args.get("mode")
    if mode not in ("open", "closed", None):
        raise ValueError("mode must be \"open\", \"closed\" or null to follow the hours")
    until, by = args.get("until"), args.get("by")
    if until is not None and (not isinstance(until, int | float) or isinstance(until, bool)
                              or until <= daemon.clock.wall()):
        raise ValueError("until must be a moment in the future (epoch seconds), or null for no end")
    state = None if mode is None else {"mode": mode, "until": until, "by": str(by or "unknown")[:100],
                                       "at": daemon.clock.wall()}
    override.save(daemon.data_dir, state)  # kept first: a restart must never bring back the old one
    daemon.apply_override(state)
    log.info("schedule override: %s", state or "follow the hours")
    core, _ = running(daemon)
    return {"override": mode, "until": until, "open": core.is_open()}
