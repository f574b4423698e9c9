"""Telling systemd how the daemon is doing: readiness, a one-line status, watchdog pings, and the journal.

Everything here is silent and cheap off systemd (no NOTIFY_SOCKET, no journal), so `hotline run` behaves
the same in a terminal. The notify messages are the documented datagram protocol (sd_notify(3)) sent here
directly: systemd-python's notify would load libsystemd with libgcrypt (~1 MB resident) for one sendto.
The journal gets its entries the same way (JournalHandler below, journald's native protocol).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import sys
from collections.abc import Mapping

JOURNAL_SOCKET = "/run/systemd/journal/socket"
_FIELD = re.compile(r"[A-Z0-9][A-Z0-9_]{0,63}")  # a journal field name: what `extra={"LINE": ...}` may add


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
        if self._socket is not None:
            _send_datagram(self._socket, message)


def _send_datagram(address: str, message: str) -> None:
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


def setup_logging(verbose: bool = False) -> None:
    """Journal with structured fields under systemd, plain stderr elsewhere."""
    level = logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler: logging.Handler
    if under_systemd():
        # The handler adds CODE_FILE/LOGGER and any `extra=` fields (e.g. LINE=gsm1) as journal fields.
        handler = JournalHandler("hotline")
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)


class JournalHandler(logging.Handler):
    """Each record as one journal entry with fields (journald's native protocol: one datagram of `NAME=value`
    lines, a value holding a newline sent with its length), as systemd-python's handler sends them, without
    loading libsystemd and libgcrypt (~1 MB of a Pi Zero's memory, in the daemon and the web app alike)."""

    def __init__(self, identifier: str, address: str = JOURNAL_SOCKET) -> None:
        super().__init__()
        self.identifier, self.address = identifier, address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {"MESSAGE": self.format(record), "PRIORITY": str(_priority(record.levelno)),
                      "SYSLOG_IDENTIFIER": self.identifier, "LOGGER": record.name, "THREAD_NAME": record.threadName,
                      "CODE_FILE": record.pathname, "CODE_LINE": str(record.lineno), "CODE_FUNC": record.funcName}
            fields.update((name, str(value)) for name, value in vars(record).items() if _FIELD.fullmatch(name))
            self._socket.sendto(b"".join(_field(name, value) for name, value in fields.items()), self.address)
        except Exception:  # noqa: BLE001 - as every logging handler: a lost line must not stop the box
            self.handleError(record)

    def close(self) -> None:
        self._socket.close()
        super().close()


def _field(name: str, value: str) -> bytes:
    data = value.encode("utf-8", "replace")
    if b"\n" not in data:
        return name.encode() + b"=" + data + b"\n"
    return name.encode() + b"\n" + len(data).to_bytes(8, "little") + data + b"\n"


def _priority(level: int) -> int:
    """syslog's priority (7 debug ... 2 critical) for a logging level, as systemd-python maps them."""
    for limit, priority in ((logging.DEBUG, 7), (logging.INFO, 6), (logging.WARNING, 4), (logging.ERROR, 3),
                            (logging.CRITICAL, 2)):
        if level <= limit:
            return priority
    return 1
