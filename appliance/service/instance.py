"""One box, one daemon: a lock on the data directory, and UUCP lock files on the serial ports.

Two daemons on one data directory would fight over the control socket and the call log; two programs
on one modem would each read half of the other's replies. The data directory is held with flock (the
kernel drops it when the process dies, however it dies). Serial ports follow the UUCP convention that
ModemManager, chan_dongle, minicom and friends honour: /var/lock/LCK..ttyUSB2 holding the owner's pid
as ten ASCII digits; a lock whose process is gone is stale and removed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_DIR = Path("/var/lock")
LOCK_DIR_ENV = "HOTLINE_LOCK_DIR"  # another place for the UUCP locks (some systems use /run/lock/lockdev)
DATA_LOCK = "daemon.lock"


class AlreadyRunning(RuntimeError):
    """Another process holds the data directory or a serial port: this one must not start."""


def default_lock_dir() -> Path:
    return Path(os.environ.get(LOCK_DIR_ENV) or LOCK_DIR)


class DataDirLock:
    """An exclusive flock on data_dir/daemon.lock, which also names the holder's pid."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / DATA_LOCK
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise AlreadyRunning(f"another hotline daemon (pid {holder}) is already running on "
                                 f"{self.path.parent}; stop it first (systemctl stop hotline)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays, harmlessly
            self._fd = None


def lock_name(port: str) -> str:
    """LCK..ttyUSB2 for /dev/ttyUSB2 and for any symlink to it (/dev/serial/by-id/..., /dev/hotline/...)."""
    device = os.path.realpath(port)
    name = device.removeprefix("/dev/") if device.startswith("/dev/") else device.lstrip("/")
    return "LCK.." + name.replace("/", "_")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


class SerialLock:
    """A UUCP lock file for one serial device, taken with O_EXCL so two takers cannot both win."""

    def __init__(self, port: str, lock_dir: Path) -> None:
        self.port = port
        self.path = lock_dir / lock_name(port)
        self.held = False

    def acquire(self) -> None:
        for _attempt in range(2):  # the second try follows the removal of a stale lock
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and owner != os.getpid() and _alive(owner):
                    raise AlreadyRunning(f"serial port {self.port} is in use by process {owner} (lock file "
                                         f"{self.path}); stop that program, or give this line another port"
                                         ) from None
                log.warning("removing the stale lock %s (pid %s is gone)", self.path, owner)
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                continue
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EROFS, errno.ENOENT):
                    # A box without a writable lock directory still runs; the data directory lock remains.
                    log.warning("cannot lock %s in %s (%s): other programs will not see it is in use",
                                self.port, self.path.parent, exc.strerror)
                    return
                raise
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(f"{os.getpid():10d}\n")  # the HDB UUCP format: ten digits and a newline
            self.held = True
            return
        raise AlreadyRunning(f"serial port {self.port}: the lock file {self.path} keeps coming back")

    def _owner(self) -> int | None:
        try:
            text = self.path.read_text(encoding="ascii", errors="replace").strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None  # unreadable: treat as stale, as lockdev does

    def release(self) -> None:
        if self.held and self._owner() == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False


class Instance:
    """Everything one daemon holds exclusively, taken before any relay or port is touched."""

    def __init__(self, data_dir: Path, ports: list[str], lock_dir: Path | None) -> None:
        self.data_lock = DataDirLock(data_dir)
        # pyserial URLs (socket://, rfc2217://) name no local device: nothing to lock.
        local = {lock_name(p): p for p in ports if p.startswith("/")}  # two names of one device: one lock
        self.serial = [SerialLock(port, lock_dir) for port in local.values()] if lock_dir is not None else []

    def acquire(self) -> None:
        try:
            self.data_lock.acquire()
            for lock in self.serial:
                lock.acquire()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        for lock in self.serial:
            lock.release()
        self.data_lock.release()
