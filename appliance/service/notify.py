"""Telling systemd how the daemon is doing: readiness, a one-line status, watchdog pings, and the journal.

Everything here is silent and cheap off systemd (no NOTIFY_SOCKET, no journal), so `hotline run` behaves
the same in a terminal. systemd-python is imported only when a socket or journal is actually there.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping


class Notifier:
    """sd_notify for the daemon. `env` defaults to os.environ; tests pass their own."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env
        self._socket = self._env.get("NOTIFY_SOCKET") or None

    def ready(self, status: str) -> None:
        self._send(f"READY=1\nSTATUS={_one_line(status)}")

    def status(self, text: str) -> None:
        self._send(f"STATUS={_one_line(text)}")

    def watchdog_interval(self) -> float | None:
        """Seconds between pings (half of WatchdogSec=), or None when no watchdog is watching this process."""
        usec = self._env.get("WATCHDOG_USEC")
        if not usec:
            return None
        pid = self._env.get("WATCHDOG_PID")
        # systemd sets WATCHDOG_PID so a forked child does not feed its parent's watchdog.
        if pid and pid != str(os.getpid()):
            return None
        try:
            value = int(usec)
        except ValueError:
            return None
        return value / 2_000_000 if value > 0 else None

    def ping(self) -> None:
        self._send("WATCHDOG=1")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def _send(self, message: str) -> None:
        if self._socket is None:
            return
        from systemd import daemon

        # sd_notify reads NOTIFY_SOCKET from the process environment; an injected env is honoured here.
        if os.environ.get("NOTIFY_SOCKET") != self._socket:
            _send_datagram(self._socket, message)
            return
        daemon.notify(message)


def _send_datagram(address: str, message: str) -> None:
    import socket

    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(message.encode("utf-8"), address)
        except OSError:
            # A vanished notify socket must never take the daemon down; systemd will notice on its own.
            pass


def _one_line(text: str) -> str:
    return " ".join(text.split())


def under_systemd(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("JOURNAL_STREAM") or env.get("INVOCATION_ID"))


# sd-daemon(3): a line on a stream journald reads may begin with its syslog priority.
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class _PriorityLines(logging.Formatter):
    """Each line of a record led by the record's priority, so a traceback's lines keep it too."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def setup_logging(verbose: bool = False, *, journal_fields: bool = True) -> None:
    """Journal with structured fields under systemd, plain stderr elsewhere.

    `journal_fields=False` (the web process, whose records carry no fields of their own): under systemd too,
    plain lines on stderr, each led by its priority, which journald reads from the stream the unit gives it;
    systemd-python and libsystemd (~1.2 MB resident) are then not loaded for the log."""
    level = logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler: logging.Handler
    if under_systemd() and not journal_fields:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PriorityLines("%(name)s: %(message)s"))
    elif under_systemd():
        from systemd.journal import JournalHandler

        # The handler adds CODE_FILE/LOGGER and any `extra=` fields (e.g. LINE=gsm1) as journal fields.
        handler = JournalHandler(SYSLOG_IDENTIFIER="hotline")
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
