"""ModemLine: one modem as a telephone line for the core.

Two threads per line: the AT channel's reader (blocking read, reports -> events) and a worker that
runs queued commands, polls health and recovers a failed modem. Callers of answer()/hangup() never
block; the outcome comes back as an event through `post`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

import serial

from appliance.core.events import (
    AnswerFailed,
    CallAnswered,
    CallerId,
    DtmfReceived,
    IncomingCall,
    LineDown,
    LineUp,
    RemoteHangup,
)
from appliance.modem import health as health_poll
from appliance.modem.at import CALL_FINALS, AtChannel, AtTimeout, DleEvent, ModemError, PortLost, Reply
from appliance.modem.dialects import Dialect, detect, dialect_named
from appliance.modem.dialects.base import (
    CallConnected,
    CallEnded,
    CallerNumber,
    Dtmf,
    Happening,
    NewSms,
    PowerDown,
    Registration,
    Ring,
    SimStatus,
    UssdReply,
)

log = logging.getLogger(__name__)

__all__ = ["ModemError", "ModemLine"]

INIT_BUDGET = 10.0  # seconds start() may spend initialising
RING_GONE = 8.0  # RING repeats every ~3-5 s; this long without one and the caller has given up
CALL_POLL = 2.0
ANSWER_TIMEOUT = 10.0  # ATA on a GSM module returns within a few seconds; longer means it hangs


class ModemLine:
    def __init__(self, line_id: str, port: str, *, post: Callable[[object], None], dialect: str = "auto",
                 baudrate: int = 115200, rtscts: bool = False, sim_pin: str | None = None,
                 serial_factory: Callable[..., serial.Serial] = serial.serial_for_url,
                 power_cycle: Callable[[], None] | None = None, health_period: float = 60.0,
                 on_report: Callable[[Happening], None] | None = None) -> None:
        """`power_cycle` pulses the modem's power key / reset pin; `on_report` sees every parsed report
        (SMS arrival, USSD replies) for the features built on top of the line."""
        if dialect != "auto":
            dialect_named(dialect)  # a bad name fails here, before anything is opened
        self.line_id = line_id
        self.port = port
        self._post = post
        self._dialect_name = dialect
        self._dialect: Dialect = Dialect() if dialect == "auto" else dialect_named(dialect)
        self._serial_args = {"baudrate": baudrate, "rtscts": rtscts, "timeout": None}
        self._sim_pin = sim_pin
        self._serial_factory = serial_factory
        self._power_cycle = power_cycle
        self._health_period = health_period
        self._on_report_hook = on_report
        self._lock = threading.Lock()
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._closing = threading.Event()
        self._channel: AtChannel | None = None
        self._worker: threading.Thread | None = None
        self._state = "starting"
        self._fault: str | None = None  # the modem itself failed: recovery runs
        self._alarm: str | None = None  # the modem works but cannot carry calls (SIM, network)
        self._call = "idle"  # idle | ringing | active | dialing
        self._caller_told = False
        self._early_caller: str | None = None
        self._last_ring = 0.0
        self._next_health = 0.0
        self._identities_known = False
        self.health: dict = {}
        self.recoveries = 0
        self.answer_timeout = ANSWER_TIMEOUT

    # --- the interface the daemon uses ---------------------------------------------------

    def start(self) -> None:
        self._open()
        reason = self._initialise()
        self._worker = threading.Thread(target=self._work, name=f"line-{self.line_id}-worker", daemon=True)
        if reason is None:
            self._set_up()
        else:
            self._fail(reason)
        self._worker.start()

    def answer(self) -> None:
        down = self._fault
        if down is not None:
            self._post(AnswerFailed(self.line_id, f"line down: {down}"))
            return
        self._jobs.put(self._answer)

    def hangup(self) -> None:
        with self._lock:
            self._call = "idle"  # reports of our own hang-up are not the caller's
        self._jobs.put(self._hangup)

    def status(self) -> dict:
        with self._lock:
            reason = self._fault or self._alarm
            state = self._state if self._fault is None and self._alarm is None else "down"
            if self._state == "starting":
                state = "starting"
            return {"state": state, "reason": reason, "dialect": self._dialect.name, "port": self.port,
                    "call": self._call, "recoveries": self.recoveries,
                    "skipped_lines": self._channel.splitter.skipped if self._channel else 0, **self.health}

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

    def submit(self, job: Callable[[Callable[..., Reply]], None]) -> None:
        """Queue `job(command)` on the worker (SMS, USSD, dialling); `command` is the AT channel's."""
        self._jobs.put(lambda: job(self._command))

    # --- opening and initialising --------------------------------------------------------

    def _open(self) -> None:
        try:
            port = self._serial_factory(self.port, **self._serial_args)
        except Exception as exc:  # noqa: BLE001 - SerialException, OSError, ValueError from a bad URL
            raise ModemError(f"line {self.line_id}: cannot open {self.port}: {exc}") from exc
        channel = AtChannel(port, name=f"line {self.line_id} ({self.port})",
                            is_report=lambda line: self._dialect.is_report(line),
                            on_report=self._on_report, on_lost=self._on_lost)
        with self._lock:
            refused = self._closing.is_set()
            if not refused:
                self._channel = channel
        if refused:  # close() ran meanwhile: it must not be left holding the port
            port.close()
            raise ModemError(f"line {self.line_id}: closed")
        channel.start()

    def _initialise(self) -> str | None:
        """Bring the modem to a known state within INIT_BUDGET; the reason in words if it cannot be."""
        deadline = time.monotonic() + INIT_BUDGET

        def cmd(text: str, timeout: float = 2.0, **kw) -> Reply:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AtTimeout(f"line {self.line_id}: initialisation took longer than {INIT_BUDGET:g} s")
            return self._channel.command(text, timeout=min(timeout, left), **kw)

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
                self._dialect = self._detect(cmd)
            if self._dialect.gsm:
                problem = self._unlock_sim(cmd)
                if problem:
                    return problem
            for text in self._dialect.init_commands:
                if not cmd(text).ok:
                    log.warning("line %s: %s refused; carrying on without it", self.line_id, text)
            self._alarm = None
            self._poll_health(cmd)
        except PortLost as exc:
            return str(exc)
        except AtTimeout:
            return "the modem stopped answering during initialisation"
        return None

    def _detect(self, cmd: Callable[..., Reply]) -> Dialect:
        said = []
        for text in ("ATI", "AT+CGMI", "AT+CGMM"):
            reply = cmd(text)
            if reply.ok:
                said.extend(reply.lines)
        name = detect(" ".join(said))
        if name is None:
            reply = cmd("AT+FCLASS=?")
            name = "v253" if reply.ok and "8" in ",".join(reply.lines).split(",") else None
        log.info("line %s: modem says %r: dialect %s", self.line_id, " ".join(said), name or "generic")
        try:
            return dialect_named(name) if name else Dialect()
        except ValueError:
            return Dialect()

    def _unlock_sim(self, cmd: Callable[..., Reply]) -> str | None:
        reply = cmd("AT+CPIN?", expect="+CPIN:")
        state = (reply.value("+CPIN:") or "") if reply.ok else reply.final
        if state == "SIM PIN":
            if not self._sim_pin:
                return "the SIM needs its PIN and none is configured (sim_pin)"
            if not cmd(f'AT+CPIN="{self._sim_pin}"', 5.0).ok:
                return "the SIM refused the configured PIN"
            return None
        return health_poll.sim_problem(state) if reply.ok else f"the SIM is not usable ({reply.final})"

    # --- the worker ----------------------------------------------------------------------

    def _work(self) -> None:
        while not self._closing.is_set():
            if self._fault is not None:
                self._recover()
                continue
            try:
                job = self._jobs.get(timeout=self._idle_wait())
            except queue.Empty:
                job = self._periodic
            if job is None:
                return
            try:
                job()
            except AtTimeout as exc:
                self._fail(f"the modem stopped answering ({exc})")
            except PortLost as exc:
                self._fail(str(exc))
            except Exception:  # noqa: BLE001 - one failed job must not end the line
                log.exception("line %s: job failed", self.line_id)

    def _idle_wait(self) -> float:
        now = time.monotonic()
        wait = self._next_health - now
        if self._call == "ringing":
            wait = min(wait, self._last_ring + RING_GONE - now)
        if self._call in ("active", "dialing") and self._dialect.poll_call_state:
            wait = min(wait, CALL_POLL)
        return max(0.05, wait)

    def _periodic(self) -> None:
        now = time.monotonic()
        if self._call == "ringing" and now - self._last_ring >= RING_GONE:
            self._end_call("caller gave up before the answer")
        if self._call in ("active", "dialing") and self._dialect.poll_call_state:
            reply = self._command("AT+CLCC", expect="+CLCC:")
            voice = [ln for ln in reply.lines if ln.startswith("+CLCC:")]
            if reply.ok and not voice:
                self._end_call("caller hung up")
            for line in voice:
                for happening in self._dialect.parse(line):
                    self._happen(happening)
        if now >= self._next_health:
            self._poll_health(self._command)

    def _command(self, text: str, timeout: float = 3.0, **kw) -> Reply:
        if self._channel is None:
            raise PortLost(f"line {self.line_id}: port not open")
        return self._channel.command(text, timeout=timeout, **kw)

    def _poll_health(self, cmd: Callable[..., Reply]) -> None:
        self._next_health = time.monotonic() + self._health_period
        if not self._dialect.gsm:
            return
        health_poll.poll(cmd, self.health, identities=not self._identities_known)
        self._identities_known = self.health.get("imei") is not None
        problem = health_poll.sim_problem(self.health["sim"]) if self.health["sim"] != "unknown" else None
        self._set_alarm(problem or health_poll.registration_problem(self.health["registration_stat"]))

    def _answer(self) -> None:
        if self._call != "ringing":
            self._post(AnswerFailed(self.line_id, "the call ended before it was answered"))
            return
        try:
            reply = self._command(self._dialect.answer_command, timeout=self.answer_timeout, finals=CALL_FINALS)
        except AtTimeout:
            self._post(AnswerFailed(self.line_id, "the modem did not answer the call"))
            raise
        if not reply.ok:
            self._post(AnswerFailed(self.line_id, f"the modem refused to answer: {reply.final}"))
            return
        with self._lock:
            self._call = "active"
        for text in self._dialect.after_answer:
            if not self._command(text).ok:
                log.warning("line %s: %s refused after answer", self.line_id, text)
        self._post(CallAnswered(self.line_id))

    def _hangup(self) -> None:
        self._command(self._dialect.hangup_command, timeout=10.0, finals=CALL_FINALS)

    # --- failures and recovery -----------------------------------------------------------

    def _on_lost(self, reason: str) -> None:
        self._fail(f"port {self.port} lost: {reason}")

    def _fail(self, reason: str) -> None:
        with self._lock:
            if self._fault is not None or self._closing.is_set():
                return
            self._fault = reason
            self._state = "down"
            call, self._call = self._call, "idle"
        log.warning("line %s down: %s", self.line_id, reason)
        if call != "idle":
            self._post(RemoteHangup(self.line_id, f"line failed: {reason}"))
        self._post(LineDown(self.line_id, reason))
        self._jobs.put(lambda: None)  # wakes the worker into recovery

    def _set_up(self) -> None:
        with self._lock:
            self._fault = None
            self._state = "up"
        if self._alarm is None:
            self._post(LineUp(self.line_id))
        else:
            self._post(LineDown(self.line_id, self._alarm))

    def _set_alarm(self, problem: str | None) -> None:
        with self._lock:
            was, self._alarm = self._alarm, problem
        if self._state != "up" or was == problem:
            return
        self._post(LineDown(self.line_id, problem) if problem else LineUp(self.line_id))

    def _recover(self) -> None:
        """Reopen and re-initialise with backoff; pulse the power key when the modem stays silent."""
        attempt = 0
        first_reason = self._fault
        while not self._closing.is_set():
            self._drop_queued_jobs()
            if self._channel is not None:
                self._channel.close()
                self._channel = None
            try:
                self._open()
                reason = self._initialise()
            except ModemError as exc:
                reason = str(exc)
            if reason is None:
                self.recoveries += 1
                log.info("line %s back in service after %d attempt(s)", self.line_id, attempt + 1)
                self._set_up()
                return
            attempt += 1
            silent = self._channel is not None and self._channel.lost is None
            if silent and self._power_cycle is not None and attempt % 3 == 1:
                log.warning("line %s: power-cycling the modem", self.line_id)
                try:
                    self._power_cycle()
                except Exception:  # noqa: BLE001 - a broken GPIO must not end recovery
                    log.exception("line %s: power cycle failed", self.line_id)
                reason = f"{reason} (power-cycled)"
            with self._lock:
                self._fault = f"{first_reason}; now: {reason}" if reason != first_reason else reason
            self._closing.wait(min(0.25 * 2 ** attempt, 5.0))

    def _drop_queued_jobs(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is None:
                self._closing.set()
                return
            if job == self._answer:
                self._post(AnswerFailed(self.line_id, f"line down: {self._fault}"))

    # --- reports -> events (reader thread) -----------------------------------------------

    def _on_report(self, token: str | DleEvent) -> None:
        for happening in self._dialect.parse(token):
            self._happen(happening)
            if self._on_report_hook is not None:
                self._on_report_hook(happening)

    def _happen(self, h: Happening) -> None:
        line = self.line_id
        if isinstance(h, Ring):
            self._last_ring = time.monotonic()
            with self._lock:
                first = self._call == "idle"
                if first:
                    self._call, self._caller_told = "ringing", self._early_caller is not None
            if first:
                self._post(IncomingCall(line, self._early_caller))
                self._early_caller = None
                self._jobs.put(lambda: None)  # the worker starts watching the ring cadence
        elif isinstance(h, CallerNumber):
            if self._call == "idle":
                self._early_caller = h.number  # some modems put +CLIP before RING
            elif not self._caller_told:
                self._caller_told = True
                self._post(CallerId(line, h.number))
        elif isinstance(h, Dtmf):
            if self._call != "idle":
                self._post(DtmfReceived(line, h.digit))
        elif isinstance(h, CallConnected):
            with self._lock:
                dialled = self._call == "dialing"
                if dialled:
                    self._call = "active"
            if dialled:
                self._post(CallAnswered(line))
        elif isinstance(h, CallEnded):
            self._end_call(h.reason)
        elif isinstance(h, PowerDown):
            self._fail(f"the modem reported {h.reason}")
        elif isinstance(h, Registration):
            self.health["registration_stat"] = h.stat
            self._set_alarm(health_poll.registration_problem(h.stat))
        elif isinstance(h, SimStatus):
            self.health["sim"] = h.state
        elif isinstance(h, NewSms | UssdReply):
            pass  # handled by the on_report hook (sms.py, ussd.py)

    def _end_call(self, reason: str) -> None:
        with self._lock:
            call, self._call = self._call, "idle"
        if call != "idle":
            self._post(RemoteHangup(self.line_id, reason))
