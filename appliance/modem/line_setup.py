"""A line's start-up: the port opened, the modem brought to a known state, and its health kept.

LineSetup is owned by ModemLine (line.py): the seam is "getting the modem ready" (here) versus "the line at
work" (line.py: the worker, the commands, the reports). ModemLine runs it at start and on every reopen
(LineRecovery), and asks it for the periodic health poll; it hands it the parts initialising touches.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import serial

from appliance.modem import health as health_poll
from appliance.modem.at import AtChannel, AtTimeout, DleEvent, ModemError, PortLost, Reply
from appliance.modem.calls import Calls
from appliance.modem.dialects import Dialect, identify
from appliance.modem.forwarding import CallForwarding
from appliance.modem.news import LineNews
from appliance.modem.optional import Capabilities
from appliance.modem.recovery import LineRecovery
from appliance.modem.sms import Sms

log = logging.getLogger("appliance.modem.line")

INIT_BUDGET = 10.0  # seconds one initialisation may take


class LineSetup:
    def __init__(self, line_id: str, port: str, *, serial_factory: Callable[..., serial.Serial],
                 serial_args: dict[str, Any], dialect_name: str, sim_pin: str | None, health_period: float,
                 dialect: Callable[[], Dialect], identified: Callable[[Dialect], None],
                 adopt: Callable[[AtChannel], bool], on_report: Callable[[str | DleEvent], None],
                 recovery: LineRecovery, capabilities: Capabilities, news: LineNews, sms: Sms, calls: Calls,
                 forwarding: CallForwarding) -> None:
        """`dialect()` is the line's current dialect and `identified(dialect)` sets it (dialect "auto");
        `adopt(channel)` makes an opened channel the line's (False: the line closed meanwhile);
        `on_report` takes each report the channel's reader reads."""
        self.line_id = line_id
        self.port = port
        self._serial_factory = serial_factory
        self._serial_args = serial_args
        self._dialect_name = dialect_name
        self._sim_pin = sim_pin
        self._health_period = health_period
        self._dialect = dialect
        self._identified = identified
        self._adopt = adopt
        self._on_report = on_report
        self._recovery = recovery
        self._capabilities = capabilities
        self._news = news
        self._sms = sms
        self._calls = calls
        self._forwarding = forwarding
        self.health: dict = {}  # the last poll's figures (signal, registration, SIM, identities), in status()
        self.next_health = 0.0  # when the next poll is due (monotonic)
        self._identities_known = False

    def open(self) -> AtChannel:
        """The port opened and its reader started; ModemError if it cannot be (or the line closed meanwhile)."""
        try:
            port = self._serial_factory(self.port, **self._serial_args)
        except Exception as exc:  # noqa: BLE001 - SerialException, OSError, ValueError from a bad URL
            if getattr(exc, "errno", None) in (errno.EAGAIN, errno.EWOULDBLOCK):  # the exclusive lock refused
                raise ModemError(f"line {self.line_id}: cannot open {self.port}: it is in use by "
                                 f"{lock_holder(self.port) or 'another program'} (another hotline daemon, "
                                 "ModemManager, a terminal program?); the line tries again") from exc
            raise ModemError(f"line {self.line_id}: cannot open {self.port}: {exc}") from exc
        channel = AtChannel(port, name=f"line {self.line_id} ({self.port})",
                            is_report=lambda line: self._dialect().is_report(line),
                            on_report=self._on_report, on_lost=self._recovery.on_lost, on_ring=self._ring_first)
        if not self._adopt(channel):  # close() ran meanwhile: it must not be left holding the port
            port.close()
            raise ModemError(f"line {self.line_id}: closed")
        channel.start()
        return channel

    def _ring_first(self) -> Callable[[], None] | None:
        """A read that begins with RING (reader thread): the line may answer it before the read is split. When it
        did, what is left (the reader runs it once it has given way): the call's news forgets the last calls'
        indexes, as any report read while idle makes it do (the line answers only while idle), and the worker
        awaits the ATA's reply. When it did not, the RING is read as a report next, and the news sees it then."""
        rest = self._calls.ring_first()
        if rest is None:
            return None

        def then() -> None:
            self._news.forget_calls()
            rest()
        return then

    def initialise(self, channel: AtChannel) -> str | None:
        """Bring the modem to a known state within INIT_BUDGET; the reason in words if it cannot be."""
        deadline = time.monotonic() + INIT_BUDGET

        def cmd(text: str, timeout: float = 2.0, **kw: Any) -> Reply:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AtTimeout(f"line {self.line_id}: initialisation took longer than {INIT_BUDGET:g} s")
            return channel.command(text, timeout=min(timeout, left), **kw)

        try:
            for attempt in range(3):  # a modem just out of boot may miss the first AT
                try:
                    cmd("AT", 1.0)
                    break
                except AtTimeout:
                    if attempt == 2:
                        return "the modem does not answer AT commands"
            cmd("ATE0")
            if self._dialect_name == "auto":
                dialect, said = identify(cmd)
                self._identified(dialect)
                log.info("line %s: modem says %r: dialect %s", self.line_id, said, dialect.name)
            dialect = self._dialect()
            if dialect.gsm:
                problem = health_poll.unlock_sim(cmd, self._sim_pin)
                if problem:
                    return problem
                self.health["iccid"] = health_poll.read_iccid(cmd, dialect.name)
                self.health["number"] = health_poll.read_own_number(cmd)  # the fleet's numbers are checked by it
            extra = ("AT+CCWA=1",) if dialect.gsm else ()  # a waiting caller is reported: news.py
            for text in dialect.init_commands + extra:
                capability = dialect.capability(text)
                if capability is not None:
                    self._capabilities.attempt(cmd, text, capability)
                elif not cmd(text).ok:
                    log.warning("line %s: %s refused; carrying on without it", self.line_id, text)
            self._recovery.alarm = None
            self.poll_health(cmd)
            if dialect.gsm:
                self._sms.fetch_stored()  # before the line is up, so no call waits behind it
                self._news.ask_network()
                self._forwarding.listen(cmd)
                self._forwarding.apply()  # to the sibling box, as the config says, then read back
            self._calls.back(cmd)
        except PortLost as exc:
            return str(exc)
        except AtTimeout:
            return "the modem stopped answering during initialisation"
        return None

    def poll_health(self, cmd: Callable[..., Reply]) -> None:
        self.next_health = time.monotonic() + self._health_period
        if not self._dialect().gsm:
            return
        health_poll.poll(cmd, self.health, identities=not self._identities_known)
        stat = self._news.registration_heard(self.health.pop("registration_domains"))
        health_poll.set_registration(self.health, stat)
        self._identities_known = self.health.get("imei") is not None
        problem = health_poll.sim_problem(self.health["sim"]) if self.health["sim"] != "unknown" else None
        self._recovery.set_alarm(problem or health_poll.registration_problem(self.health["registration_stat"]))

    def registration_heard(self, domain: str, stat: int) -> None:
        """An unsolicited registration report (reader thread) between polls."""
        registered = self._news.registration_heard({domain: stat})
        health_poll.set_registration(self.health, registered)
        self._recovery.set_alarm(health_poll.registration_problem(registered))

    def sim_heard(self, state: str) -> None:
        """An unsolicited SIM status report (reader thread) between polls."""
        self.health["sim"] = state


def lock_holder(port: str) -> str | None:
    """"process 812 (ModemManager)": who holds the exclusive lock (flock) on the device at `port`, as
    /proc/locks says; None when it cannot tell.

    pyserial's own message ("Could not exclusively lock port ...: Resource temporarily unavailable") named no
    one, and the one to stop is what the reader of the line's alarm needs (docs/testing.md: in the test suite it
    was another test's line still retrying a pty number that had been reused)."""
    try:
        device = os.stat(port)
        with open("/proc/locks", encoding="ascii") as locks:
            rows = locks.read().splitlines()
    except OSError:
        return None
    inode = f"{os.major(device.st_dev):02x}:{os.minor(device.st_dev):02x}:{device.st_ino}"
    for row in rows:  # "1: FLOCK  ADVISORY  WRITE 812 00:1a:5 0 EOF" ("1: -> FLOCK ..." for a waiter)
        fields = row.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == inode:
            try:
                with open(f"/proc/{fields[4]}/comm", encoding="utf-8", errors="replace") as comm:
                    name = comm.read().strip()
            except OSError:
                name = "gone since"
            return f"process {fields[4]} ({name})"
    return None
