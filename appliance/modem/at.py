"""The AT engine: matches the lines a modem sends (framing.py splits them) to the one command in flight.

Everything a modem sends goes through here, so nothing it sends may raise: unreadable bytes and
over-long lines are logged and dropped, and a broken report handler is logged, never propagated.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import field
from typing import Protocol

from appliance.core.lean import lean
from appliance.modem.framing import PROMPT, DleEvent, LineSplitter
from appliance.modem.port_wait import read_burst, write_now
from appliance.modem.ring_first import RING, ring_first

log = logging.getLogger(__name__)


# Vendor final results: Huawei sticks answer a command their firmware lacks with COMMAND NOT SUPPORT (or TOO MANY
# PARAMETERS) instead of ERROR, some ZTE/Longcheer firmwares with COMMAND NOT SUPPORTED; unless they end the command
# here it would wait out its whole timeout and the line would be failed as a modem that stopped answering.
VENDOR_FINALS = ("COMMAND NOT SUPPORT", "COMMAND NOT SUPPORTED", "TOO MANY PARAMETERS")
BASIC_FINALS = ("OK", "ERROR", "+CME ERROR", "+CMS ERROR") + VENDOR_FINALS
# Call set-up commands end with these too; for any other command they are reports about the call.
CALL_FINALS = BASIC_FINALS + ("NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "CONNECT")


class ModemError(Exception):
    """A modem or its port failed; the message names the line/port and the reason."""


class AtTimeout(ModemError):
    pass


class PortLost(ModemError):
    pass


@lean
class Reply:
    command: str
    lines: list[str]
    final: str
    skipped: tuple[str, ...] = ()  # finals owed to an earlier command, read before this reply (`stale`)

    @property
    def ok(self) -> bool:
        return self.final == "OK" or self.final.startswith("CONNECT")

    def value(self, prefix: str) -> str | None:
        """The text after `prefix` on the first reply line that has it (`+CSQ:` -> `20,0`)."""
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        return None


def is_final(line: str, finals: tuple[str, ...]) -> bool:
    return any(line == f or line.startswith(f + ":") or line.startswith(f + " ") for f in finals)


@lean
class _Pending:
    command: str
    finals: tuple[str, ...]
    expect: str | None
    payload: str | None
    stale: int = 0  # finals still owed to an earlier command, skipped until this command's first reply line
    on_final: Callable[[Reply], None] | None = None
    born: float = 0.0  # time.monotonic() when it was written
    deadline: float = 0.0  # ... and by when its final is due
    lines: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    final: str | None = None
    lost: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


class SerialPort(Protocol):
    """What the channel uses of its port: a pyserial port (serial.Serial, or one opened from a URL)."""

    timeout: float | None

    @property
    def in_waiting(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...

    def cancel_read(self) -> None: ...

    def close(self) -> None: ...


class AtChannel:
    """One open serial port: a reader thread and `command()` for one command at a time.

    `is_report(line)` tells which lines are unsolicited reports even while a command is in flight;
    those and every line outside a command go to `on_report` (on the reader thread).
    `on_lost(reason)` is called once when the port fails. `on_ring()`, when given, is called on the reader
    for a read that begins with a RING line, before that read is split into lines: the line answers from
    there (calls.py, `ring_first`), ahead of the ~0.1 ms of Python every report takes before it is news.
    When it answered, it returns what is left to do about that RING: the reader gives way first (ring_first.py:
    until the modem replies, or AFTER_ANSWER), then runs it, then takes the rest of that read.
    """

    def __init__(self, port: SerialPort, *, name: str, is_report: Callable[[str], bool],
                 on_report: Callable[[str | DleEvent], None], on_lost: Callable[[str], None],
                 on_ring: Callable[[], Callable[[], None] | None] | None = None) -> None:
        self._port = port
        self.name = name
        self._is_report = is_report
        self._on_report = on_report
        self._on_lost = on_lost
        self._on_ring = on_ring
        self.splitter = LineSplitter(name)
        self._lock = threading.Lock()
        self._cmd_lock = threading.Lock()
        self._pending: _Pending | None = None
        # The next `send`'s event, made ahead: threading.Event() costs ~40 us cold (its Condition's set-up), and
        # `send` writes the ATA at a RING. Made anew as each command ends (`_end`), when nobody waits on the reader.
        self._next_done: threading.Event | None = threading.Event()
        self._closed = threading.Event()
        self.lost: str | None = None
        self._park = threading.Condition()  # the reader parks on it while the port is lent
        self._paused = False
        self._parked = False
        self._reader = threading.Thread(target=self._read_loop, name=f"{name}-reader", daemon=True)

    def start(self) -> None:
        self._reader.start()

    def command(self, command: str, *, timeout: float = 3.0, finals: tuple[str, ...] = BASIC_FINALS,
                expect: str | None = None, payload: str | None = None, stale: int = 0,
                on_final: Callable[[Reply], None] | None = None) -> Reply:
        """Send one command and wait for its final result code.

        `expect` is the prefix of the reply lines (`+CLCC:`) so they are kept even when the same
        prefix is also a report. `payload` is sent after the `> ` prompt, ended by Ctrl-Z. `stale`: up to
        this many finals that come before the first `expect` line are owed to an earlier command (an ATA
        whose caller's NO CARRIER was read as its reply) and skipped: `expect` must name a line the reply
        always has (`+CPAS:`). `on_final(reply)` runs on the reader thread as the final is read, before any
        line after it: what the reply means is then in order with the reports around it.
        """
        if stale and expect is None:
            raise ValueError(f"{command}: skipping owed finals needs the reply's own line (expect)")
        self._take(block=True)
        return self.wait(self._start(command, timeout, _Pending(command, finals, expect, payload, stale, on_final)))

    def send(self, command: str, *, timeout: float = 3.0, finals: tuple[str, ...] = BASIC_FINALS,
             on_final: Callable[[Reply], None] | None = None) -> _Pending | None:
        """Write `command` now, if no command is in flight (else None), and return without waiting: the reader
        ends it at its final (after `on_final`), and `wait(sent)` gives its reply on any thread. So ATA leaves
        from the reader that read the RING, with no hop to another thread first."""
        if not self._take(block=False):
            return None
        done, self._next_done = self._next_done or threading.Event(), None  # the channel is ours: nobody else takes it
        try:
            return self._start(command, timeout, _Pending(command, finals, None, None, 0, on_final, done=done))
        except PortLost:
            return None

    def replied(self, pending: _Pending, within: float) -> bool:
        """Whether the command's final came within `within` s of its writing (waiting until then at most); it stays
        in flight."""
        return pending.done.wait(max(0.0, pending.born + within - time.monotonic()))

    def wait(self, pending: _Pending) -> Reply:
        """The reply to a command written by `command` or `send`; AtTimeout once its deadline passes."""
        if not pending.done.wait(max(0.0, pending.deadline - time.monotonic())):
            self._expire(pending)
        if pending.lost is not None:
            raise PortLost(f"{self.name}: port lost during {pending.command}: {pending.lost}")
        if pending.final is None:
            raise AtTimeout(f"{self.name}: no answer to {pending.command} within {pending.deadline - pending.born:g} s")
        return Reply(pending.command, pending.lines, pending.final, tuple(pending.skipped))

    def _start(self, command: str, timeout: float, pending: _Pending) -> _Pending:
        """Write `command` on the channel just taken (_take)."""
        pending.born = time.monotonic()
        pending.deadline = pending.born + timeout
        with self._lock:
            if self.lost is not None:
                self._cmd_lock.release()
                raise PortLost(f"{self.name}: port lost: {self.lost}")
            self._pending = pending
        try:
            self._write(command + "\r")
        except PortLost:
            self._end(pending)
            raise
        return pending

    def _take(self, block: bool) -> bool:
        """One command at a time. The one in flight frees the channel at its final (on the reader), or once its
        deadline has passed: a command sent from another thread must not hold this one back for good."""
        if not block:
            return self._cmd_lock.acquire(blocking=False)
        while True:
            with self._lock:
                current = self._pending
            left = max(0.0, current.deadline - time.monotonic()) if current is not None else 1.0
            if self._cmd_lock.acquire(timeout=left + 0.5):
                return True
            if current is not None:
                self._expire(current)

    def _expire(self, pending: _Pending) -> None:
        """No final came in time: the command is over (its waiter gets AtTimeout) and the channel is free."""
        pending.done.set()
        self._end(pending)

    def _end(self, pending: _Pending) -> None:
        with self._lock:
            if self._pending is not pending:
                return  # ended already
            self._pending = None
        if self._next_done is None:
            self._next_done = threading.Event()  # still the channel's own until it is released
        self._cmd_lock.release()

    @contextmanager
    def lend(self, timeout: float = 2.0) -> Iterator[SerialPort]:
        """The port for someone else's exclusive use (a voice session, where every byte is sound).

        No command is in flight or starts, and the reader is parked (interrupted with cancel_read) until
        the block ends; then reports are read again. The port's read timeout is put back as it was.
        """
        cancel = getattr(self._port, "cancel_read", None)
        if cancel is None:
            raise ModemError(f"{self.name}: this kind of port cannot be lent (it has no cancel_read)")
        self._take(block=True)
        try:
            if self.lost is not None:
                raise PortLost(f"{self.name}: port lost: {self.lost}")
            with self._park:
                self._paused = True
            try:
                cancel()
                with self._park:
                    if not self._park.wait_for(lambda: self._parked, timeout):
                        raise ModemError(f"{self.name}: the reader did not stop within {timeout:g} s")
                if self.lost is not None:
                    raise PortLost(f"{self.name}: port lost: {self.lost}")
                read_timeout = self._port.timeout
                try:
                    yield self._port
                finally:
                    try:
                        self._port.timeout = read_timeout
                    except Exception:  # noqa: BLE001 - a vanished port; the reader will report it
                        log.debug("%s: restoring the read timeout failed", self.name, exc_info=True)
            finally:
                with self._park:
                    self._paused = False
                    self._park.notify_all()
        finally:
            self._cmd_lock.release()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        with self._park:
            self._park.notify_all()  # a parked reader ends
        with self._lock:
            pending = self._pending
            if self.lost is None:
                self.lost = "closed"
        if pending is not None:
            pending.lost = "closed"
            pending.done.set()
            self._end(pending)
        try:
            self._port.cancel_read()
        except Exception:  # noqa: BLE001 - a vanished port may refuse even this
            log.debug("%s: cancel_read failed", self.name, exc_info=True)
        if self._reader.is_alive() and self._reader is not threading.current_thread():
            self._reader.join(2.0)
        try:
            self._port.close()
        except Exception:  # noqa: BLE001
            log.debug("%s: close failed", self.name, exc_info=True)

    def _write(self, text: str) -> None:
        try:
            write_now(self._port, text.encode())
        except Exception as exc:  # noqa: BLE001 - any failure to write means the port is gone
            self._lose(f"write failed: {exc}")
            raise PortLost(f"{self.name}: write failed: {exc}") from exc

    def _read_loop(self) -> None:
        try:
            while not self._closed.is_set():
                if self._paused:
                    self._wait_unpaused()
                    continue
                try:
                    data = self._read()
                except Exception as exc:  # noqa: BLE001 - SerialException, OSError, TypeError on a closed fd
                    if not self._closed.is_set():
                        self._lose(str(exc) or type(exc).__name__)
                    return
                if self._on_ring is not None and self.splitter.at_line_start and data.lstrip(b"\r\n").startswith(RING):
                    ring_first(self._port, self._on_ring, self.name)
                for token in self.splitter.tokens(data):
                    self._dispatch(token)
        finally:
            with self._park:
                self._parked = True  # a lender waiting for the reader to stop must not wait for a dead one
                self._park.notify_all()

    def _read(self) -> bytes:
        return read_burst(self._port)

    def _wait_unpaused(self) -> None:
        with self._park:
            self._parked = True
            self._park.notify_all()
            self._park.wait_for(lambda: not self._paused or self._closed.is_set())
            self._parked = False

    def _lose(self, reason: str) -> None:
        with self._lock:
            if self.lost is not None:
                return
            self.lost = reason
            pending = self._pending
        if pending is not None:
            pending.lost = reason
            pending.done.set()
            self._end(pending)
        log.warning("%s: port lost: %s", self.name, reason)
        try:
            self._on_lost(reason)
        except Exception:  # noqa: BLE001
            log.exception("%s: port-lost handler failed", self.name)

    def _dispatch(self, token: str | DleEvent) -> None:
        with self._lock:
            pending = self._pending
        # Once its final came, the command's reply is over, even before its thread has taken it: a later
        # line (a late ATA's own OK after the caller's NO CARRIER ended it) is news, never its new result.
        if (pending is not None and not pending.done.is_set() and isinstance(token, str)
                and self._belongs(pending, token)):
            return
        try:
            self._on_report(token)
        except Exception:  # noqa: BLE001 - a report we cannot handle must not stop the reader
            log.exception("%s: report %r not handled", self.name, token)

    def _belongs(self, pending: _Pending, line: str) -> bool:
        if line == PROMPT:
            if pending.payload is None:
                return False
            try:
                self._write(pending.payload + "\x1a")
            except PortLost:
                pass  # the pending command has been failed by _lose already
            return True
        if line.upper() == pending.command.upper():
            return True  # echo
        if pending.stale and not pending.lines and is_final(line, CALL_FINALS):
            pending.stale -= 1  # the modem answers commands in order: this one's reply comes after it
            pending.skipped.append(line)
            log.debug("%s: %s before the reply to %s: owed to an earlier command", self.name, line, pending.command)
            return True
        if pending.payload is not None and line in pending.payload.splitlines():
            return True  # the SMS text echoed back
        if is_final(line, pending.finals):
            pending.final = line
            if pending.on_final is not None:
                try:
                    pending.on_final(Reply(pending.command, list(pending.lines), line))
                except Exception:  # noqa: BLE001 - the reader must go on; the command still gets its reply
                    log.exception("%s: handling the reply to %s failed", self.name, pending.command)
            pending.done.set()
            self._end(pending)  # the reply is over: the channel is free before its waiter has even woken
            return True
        if pending.expect is not None and line.startswith(pending.expect):
            pending.lines.append(line)
            return True
        if self._is_report(line) or is_final(line, CALL_FINALS):
            return False  # call progress outside ATA/ATD is news about the call, not this reply
        pending.lines.append(line)
        return True
