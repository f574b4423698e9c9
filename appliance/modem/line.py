"""ModemLine: one modem as a telephone line for the core.

Two threads per line: the AT channel's reader (blocking read, reports -> events) and a worker that
runs queued commands, polls health and recovers a failed modem. Callers of answer(), hangup(),
dial(), transfer() and send_sms() never block; the outcome comes back as an event through `post`.
The call itself lives in calls.py, SMS in sms.py, the USSD balance in ussd.py; opening the port, initialising
the modem and its health poll in line_setup.py, the way back from a failure in recovery.py.
"""

from __future__ import annotations

import collections
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import serial

from appliance.core.events import CallForwarded, DialFailed, RemoteFailed, SmsResult, TransferResult
from appliance.modem.answer import Sent
from appliance.modem.at import AtChannel, AtTimeout, DleEvent, ModemError, PortLost, Reply
from appliance.modem.calls import DIAL_TIMEOUT, AnswerNote, Calls
from appliance.modem.dialects import Dialect, dialect_named
from appliance.modem.dialects.base import Forwarded, Happening, NewSms, PowerDown, Registration, SimStatus, UssdReply
from appliance.modem.forwarding import CallForwarding
from appliance.modem.lease import Lease, lend
from appliance.modem.line_setup import LineSetup
from appliance.modem.news import LineNews
from appliance.modem.optional import Capabilities
from appliance.modem.recovery import Job, LineRecovery
from appliance.modem.sms import Sms, check_number, check_text
from appliance.modem.ussd import Balance

log = logging.getLogger(__name__)

__all__ = ["ModemError", "ModemLine"]

# A modem can hang while idle with nothing to tell: after this long without a word from it the line asks
# "AT" (as chan_dongle does), so a hung modem is found within KEEPALIVE + KEEPALIVE_REPLY s, not at the
# next caller.
KEEPALIVE = 10.0
KEEPALIVE_REPLY = 2.0
# A command is a few bytes the modem takes at once; one it will not take (CTS held low, a stalled USB queue)
# would block the writing thread for good: the worker, or the reader that writes ATA at the RING.
WRITE_TIMEOUT = 2.0
BORROW_WAIT = 10.0  # longest borrow() waits for the jobs queued before it (ATA/+VLS answer within this)
DIALLABLE = re.compile(r"\+?[0-9*#]{1,30}")


class ModemLine:
    def __init__(self, line_id: str, port: str, *, post: Callable[[object], None], dialect: str = "auto",
                 baudrate: int = 115200, rtscts: bool = False, sim_pin: str | None = None,
                 serial_factory: Callable[..., serial.Serial] = serial.serial_for_url,
                 power_cycle: Callable[[], None] | None = None, health_period: float = 60.0,
                 on_report: Callable[[Happening], None] | None = None, ussd_balance: str | None = None,
                 ussd_period: float = 86400.0, dial_timeout: float = DIAL_TIMEOUT,
                 answer_after_rings: int | None = None, note_answer: AnswerNote | None = None,
                 call_waiting: str = "reject", forward: tuple[str, tuple[str, ...], int] | None = None) -> None:
        """`power_cycle` pulses the modem's power key / reset pin (see power.PowerKey); `on_report` sees
        every parsed report; `ussd_balance` is the code (*100#) asked every `ussd_period` s for status().
        The line answers callers itself (calls.py) on ring `answer_after_rings` (None: 2 on an analogue line,
        where caller ID comes after the first ring, else 1); `note_answer` journals each answer just before
        ATA. `call_waiting` reject|off: what happens to a second caller (news.py). `forward` (number, conditions,
        seconds): the network's call forwarding to set at each start (forwarding.py)."""
        if dialect != "auto":
            dialect_named(dialect)  # a bad name fails here, before anything is opened
        if answer_after_rings is not None and not (isinstance(answer_after_rings, int) and answer_after_rings >= 1):
            raise ValueError(f"bad answer_after_rings {answer_after_rings!r} for line {line_id}: a whole number from 1")
        if not ussd_period > 0:
            raise ValueError(f"bad ussd_period {ussd_period!r} for line {line_id}: seconds above 0")
        self.line_id = line_id
        self.port = port
        self._post = post
        self._dialect: Dialect = Dialect() if dialect == "auto" else dialect_named(dialect)
        self._on_report_hook = on_report
        self._lock = threading.Lock()
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._urgent: collections.deque[Job] = collections.deque()  # ATA: ahead of every queued job
        self._closing = threading.Event()
        self._channel: AtChannel | None = None
        self._worker: threading.Thread | None = None
        self._heard_at = time.monotonic()  # the modem's last word (a reply or a report), for the keep-alive
        self._answer_after_rings = answer_after_rings
        self.calls = Calls(line_id, post=post, command=self._command, later=self._later, urgent=self._answer_first,
                           dialect=lambda: self._dialect, dial_timeout=dial_timeout,
                           answer_after_rings=self._rings_to_answer(), note_answer=note_answer, send=self._send_now)
        self._recovery = LineRecovery(line_id, port, lock=self._lock, closing=self._closing, post=post,
                                      later=self._later, calls=self.calls, jobs=self._jobs, urgent=self._urgent,
                                      reopen=self._reopen, silent=self._silent, power_cycle=power_cycle)
        self.capabilities = Capabilities(line_id)
        self._news = LineNews(line_id, post=post, later=self._later, command=self._command,
                              calls_state=lambda: self.calls.state, call_waiting=call_waiting)
        self._sms = Sms(line_id, post=post, command=self._command)
        number, conditions, after = forward or (None, (), 20)
        self.forwarding = CallForwarding(line_id, number=number, conditions=conditions, after=after,
                                         command=self._command, later=self._later)
        self._balance = (Balance(ussd_balance, ussd_period, command=self._command, later=self._later,
                                 line=line_id, post=post)
                         if ussd_balance is not None else None)
        self._setup = LineSetup(line_id, port, serial_factory=serial_factory,
                                # exclusive: a second program on the port (ModemManager, a leftover daemon)
                                # would read half the replies
                                serial_args={"baudrate": baudrate, "rtscts": rtscts, "timeout": None,
                                             "write_timeout": WRITE_TIMEOUT, "exclusive": True},
                                dialect_name=dialect, sim_pin=sim_pin, health_period=health_period,
                                dialect=lambda: self._dialect, identified=self._identified, adopt=self._adopt,
                                on_report=self._on_report, recovery=self._recovery,
                                capabilities=self.capabilities, news=self._news, sms=self._sms, calls=self.calls,
                                forwarding=self.forwarding)

    @property
    def answer_timeout(self) -> float:
        return self.calls.answering.timeout

    @answer_timeout.setter
    def answer_timeout(self, seconds: float) -> None:
        self.calls.answering.timeout = seconds

    # --- the interface the daemon uses ---------------------------------------------------

    def start(self) -> None:
        """Open and initialise the modem; a port that is not there (yet) leaves the line down and looking for it."""
        self._worker = threading.Thread(target=self._work, name=f"line-{self.line_id}-worker", daemon=True)
        try:
            channel = self._setup.open()
        except ModemError as exc:
            self._recovery.fail(str(exc))  # the worker's recovery reopens it with backoff once the modem is plugged in
            self._worker.start()
            return
        reason = self._setup.initialise(channel)
        if reason is None:
            self._recovery.set_up()
        else:
            self._recovery.fail(reason)
        self._worker.start()

    def hangup(self) -> None:
        self.calls.forget()
        self._later(self.calls.hangup)

    def dial(self, number: str) -> None:
        """Call `number` out; DialAnswered or DialFailed follows."""
        if not isinstance(number, str) or not DIALLABLE.fullmatch(number):
            raise ValueError(f"bad number to dial {number!r}: digits, * and # with an optional leading +")
        self._queue(lambda: self.calls.dialling.dial(number), lambda why: DialFailed(self.line_id, f"failed: {why}"))

    def transfer(self, number: str) -> None:
        """Hand the call (ringing: deflection; answered: explicit transfer) to `number`; TransferResult follows."""
        check_number(number, "transfer")
        self.calls.dialling.transfer_asked(number)
        self._queue(lambda: self.calls.dialling.transfer(number),
                    lambda why: TransferResult(self.line_id, number, False, why))

    def call_off_transfer(self, number: str, reason: str) -> None:
        """Now, not queued: the transfer may be queued behind other commands, or the worker busy with it."""
        self.calls.dialling.call_off_transfer(number, reason)

    def ring_remote(self, number: str) -> None:
        """Hold the caller and dial a remote operator's phone (remote_leg.py); RemoteAnswered or RemoteFailed."""
        check_number(number, "remote operator")
        self._queue(lambda: self.calls.remote.ring(number), lambda why: RemoteFailed(self.line_id, why))

    def drop_remote(self) -> None:
        self.calls.remote.drop_soon()  # now: a phone still ringing stops the worker's wait for it
        self._later(self.calls.remote.drop)

    def join_remote(self) -> None:
        self._queue(self.calls.remote.join, lambda why: RemoteFailed(self.line_id, why))

    def send_sms(self, number: str, text: str) -> None:
        """Queue an SMS; SmsResult follows."""
        check_number(number, "SMS")
        check_text(text)

        def send() -> None:
            if self._dialect.gsm:
                self._sms.send(number, text)
            else:
                self._post(SmsResult(self.line_id, number, False, "an analogue (V.253) line cannot send SMS"))

        self._queue(send, lambda why: SmsResult(self.line_id, number, False, why))

    def status(self) -> dict:
        with self._lock:
            recovery = self._recovery
            reason = recovery.fault or recovery.alarm
            state = recovery.state if recovery.fault is None and recovery.alarm is None else "down"
            if recovery.state == "starting":
                state = "starting"
            return {"state": state, "reason": reason, "dialect": self._dialect.name, "port": self.port,
                    "call": self.calls.state, "recoveries": recovery.recoveries,
                    "skipped_lines": self._channel.splitter.skipped if self._channel else 0,
                    "sms_sent": self._sms.sent, "sms_received": self._sms.received,
                    "balance": self._balance.status() if self._balance else None,
                    "missing": self.capabilities.missing(), **self._news.status(), **self._setup.health,
                    "forwarding": self.forwarding.status()}

    @property
    def iccid(self) -> str | None:
        """The SIM's ICCID as read at the line's last start (None: not read, or the modem would not say)."""
        return self._setup.health.get("iccid")

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()
        self._jobs.put(None)
        with self._lock:
            channel = self._channel
        if channel is not None:
            channel.close()  # fails a command in flight, so the worker sees `closing` at once
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(5.0)

    @contextmanager
    def borrow(self, timeout: float = BORROW_WAIT) -> Iterator[serial.Serial]:
        """`with line.borrow() as port:` the pyserial port for exclusive use (a V.253 voice session).

        The worker lends it once the jobs queued before are done (no AT command in flight) and holds still
        until the block ends: health polls and queued commands wait, the reader is parked and resumes after.
        ModemError when the line is down or not running, or the port is not free within `timeout` s.
        """
        if threading.current_thread() is self._worker:
            raise RuntimeError(f"line {self.line_id}: a job on the worker cannot borrow the port it lends")
        why = self._recovery.fault or ("closed" if self._closing.is_set() else None)
        if why is None and (self._worker is None or not self._worker.is_alive()):
            why = "the line is not running"
        if why is not None:
            raise ModemError(f"line {self.line_id}: cannot lend the port: {why}")
        lease = Lease(f"line {self.line_id}")
        self._jobs.put(Job(lambda: lend(self._channel, lease), lease.refuse))
        port = lease.take(timeout)
        try:
            yield port
        finally:
            lease.give_back()

    def heard(self, code: str) -> None:
        """A <DLE> code (key, busy tone...) a voice session read on the borrowed port: news as if the reader
        had read it, so the call's state follows (a V.253 line goes on-hook after the busy tone)."""
        self._on_report(DleEvent(code))

    def submit(self, job: Callable[[Callable[..., Reply]], None]) -> None:
        """Queue `job(command)` on the worker; `command` is the AT channel's."""
        self._later(lambda: job(self._command))

    def _later(self, run: Callable[[], object]) -> None:
        self._jobs.put(Job(run))

    def _answer_first(self, run: Callable[[], None]) -> None:
        """`run` before any job already queued; the no-op job wakes a worker that waits on the queue."""
        self._urgent.append(Job(run))
        self._jobs.put(Job(lambda: None))

    def _queue(self, run: Callable[[], None], failed: Callable[[str], object]) -> None:
        """Queue `run`, or post `failed(reason)` at once (or when the line goes down before it ran)."""
        down = self._recovery.fault
        if down is not None:
            self._post(failed(f"line down: {down}"))
            return
        self._jobs.put(Job(run, lambda why: self._post(failed(why))))

    # --- opening and initialising (line_setup.py) ------------------------------------------

    def _reopen(self) -> str | None:
        """The port closed if open, opened and initialised again: LineRecovery's way back."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        return self._setup.initialise(self._setup.open())

    def _adopt(self, channel: AtChannel) -> bool:
        """The opened channel is the line's, unless close() ran meanwhile."""
        with self._lock:
            if self._closing.is_set():
                return False
            self._channel = channel
            return True

    def _identified(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self.calls.answer_after_rings = self._rings_to_answer()

    def _silent(self) -> bool:
        return self._channel is not None and self._channel.lost is None

    def _rings_to_answer(self) -> int:
        return self._answer_after_rings or (1 if self._dialect.gsm else 2)

    # --- the worker ----------------------------------------------------------------------

    def _work(self) -> None:
        while not self._closing.is_set():
            if self._recovery.fault is not None:
                self._recovery.recover()
                continue
            job: Job | None
            try:
                job = self._urgent.popleft()
            except IndexError:
                try:
                    job = self._jobs.get(timeout=self._idle_wait())
                except queue.Empty:
                    job = Job(self._periodic)
            if job is None:
                return
            try:
                job.run()
            except AtTimeout as exc:
                self._recovery.fail(f"the modem stopped answering ({exc})")
            except PortLost as exc:
                self._recovery.fail(str(exc))
            except Exception:  # noqa: BLE001 - one failed job must not end the line
                log.exception("line %s: job failed", self.line_id)

    def _idle_wait(self) -> float:
        now = time.monotonic()
        wait = min(self._setup.next_health - now, self.calls.wait(now), self._heard_at + KEEPALIVE - now)
        balance = self._balance_wanted()
        if balance is not None:
            wait = min(wait, balance.due(now))
        return max(0.05, wait)

    def _balance_wanted(self) -> Balance | None:
        """The balance reader, when its time may come now: never during a call (many modems refuse USSD then)."""
        wanted = self._balance is not None and self._dialect.gsm and self.calls.state == "idle"
        return self._balance if wanted else None

    def _periodic(self) -> None:
        now = time.monotonic()
        self.calls.tick(now)
        if now >= self._setup.next_health:
            self._setup.poll_health(self._command)
        elif now - self._heard_at >= KEEPALIVE:
            self._command("AT", timeout=KEEPALIVE_REPLY)  # no answer: AtTimeout fails the line
        balance = self._balance_wanted()
        if balance is not None and balance.due(now) <= 0:
            balance.query()

    def _command(self, text: str, timeout: float = 3.0, **kw) -> Reply:
        if self._channel is None:
            raise PortLost(f"line {self.line_id}: port not open")
        capability = self._dialect.capability(text)  # e.g. AT^DDSETEX=2 after the answer: never fails the call
        if capability is not None:
            reply = self.capabilities.attempt(self._channel.command, text, capability, timeout=timeout, **kw)
        else:
            reply = self._channel.command(text, timeout=timeout, **kw)
        self._heard_at = time.monotonic()
        return reply

    def _send_now(self, text: str, **kw: Any) -> Sent | None:
        """`text` written at once, on the calling thread, if no command is in flight (None if one is, or the line
        is down): what waits for its reply (on the worker)."""
        channel = self._channel
        if channel is None or self._recovery.fault is not None:
            return None
        sent = channel.send(text, **kw)
        if sent is None:
            return None

        def reply() -> Reply:
            try:
                return channel.wait(sent)
            finally:
                self._heard_at = time.monotonic()
        return Sent(reply, lambda within: channel.replied(sent, within))

    # --- reports (reader thread) ---------------------------------------------------------

    def _on_report(self, token: str | DleEvent) -> None:
        self._heard_at = time.monotonic()
        for happening in self._dialect.parse(token):
            self._happen(happening)
            if self._on_report_hook is not None:
                self._on_report_hook(happening)

    def _happen(self, h: Happening) -> None:
        if isinstance(h, PowerDown):
            self._recovery.fail(f"the modem reported {h.reason}")
        elif isinstance(h, Registration):
            self._setup.registration_heard(h.domain, h.stat)
        elif isinstance(h, SimStatus):
            self._setup.sim_heard(h.state)
        elif isinstance(h, NewSms):
            self._later(lambda: self._sms.fetch(h.index))  # the reader must not wait on a command
        elif isinstance(h, UssdReply):
            if self._balance is not None:
                self._balance.on_reply(h)
        elif isinstance(h, Forwarded):
            self._post(CallForwarded(self.line_id))
        else:
            for_the_call = self._news.take(h)  # a waiting second caller, warnings... are not the call's news
            if for_the_call is not None:
                self.calls.happen(for_the_call)
