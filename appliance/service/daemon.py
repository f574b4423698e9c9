"""The daemon: one event loop between the hardware adapters and the switchboard.

Adapter threads post events into one queue; the loop feeds them to the core
and hands the core's actions back to the adapters. It waits on the queue with
a timeout set by the core's next timer, so an idle box does no work at all.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..audio.catalog import prompt_names
from ..config import Config
from ..core import events as ev
from ..core.callers import CallerLists
from ..core.clock import BoxClock, Clock
from ..core.switchboard import Switchboard
from ..modem.answer_journal import AnswerJournal
from ..modem.ussd import BalanceRead
from ..ports import HandsetPort, LinePort, PlayerPort, RecorderPort, Sound
from ..records.privacy import appear
from ..records.store.calls import CallStore
from . import commands, commands_calls, commands_risk, override
from .actions import Actions
from .adapters import Adapters
from .alarms import Alarms
from .background import Done, OffLoop, Pending, answer
from .commands_host import Command
from .control_server import ControlRequest, ControlServer
from .hooks import EventHook
from .instance import Instance
from .keeper import RecordKeeper
from .listening import Listening
from .notify import Notifier
from .prompts import PromptMaker
from .speech import SpeechService
from .status_view import StatusView
from .switchboard_setup import make_switchboard
from .texting import TextLine
from .timesync import ClockWatch, SystemTime

if TYPE_CHECKING:
    from .alerting import Alerting

log = logging.getLogger(__name__)

CLOCK_CHECK = 5.0  # seconds between looks at the time sync while the wall clock is not yet set


class _Stop:
    """Posted to end the loop from another thread or a signal handler."""


class Daemon:
    def __init__(
        self,
        config: Config,
        *,
        data_dir: str | Path,
        pin_factory: Any,
        clock: Clock | None = None,
        notifier: Notifier | None = None,
        open_pcm: Callable[..., Any] | None = None,
        open_capture: Callable[..., Any] | None = None,
        lock_dir: Path | None = None,  # where the serial ports' UUCP locks go (`hotline run`: /var/lock)
    ) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.pin_factory = pin_factory
        self.clock = BoxClock(clock or SystemTime())  # monotonic for every wait; wall for stamps and the schedule
        self.clock_watch: ClockWatch | None = None
        self.notifier = notifier or Notifier()
        self.events: queue.Queue = queue.Queue()
        self.alarms = Alarms(self.clock.wall)  # what an admin must see: status, dashboard, `hotline check`
        # What happened, by name, for alerts and the fleet (docs/alerts.md): fed from _process and _dispatch.
        self.hook = EventHook(self.clock.wall)
        self.alarms.on_raise = lambda alarm, text: self.hook.tell("disk_low", text=text) if alarm == "disk.low" \
            else None
        self.alerting: Alerting | None = None
        self.texting: TextLine | None = None
        self.commands: dict[str, Command] = {"status": lambda _: self.status()}
        self.fleet: Any = None  # appliance.fleet.link.FleetLink when the config has [fleet]
        self.commands["fleet"] = lambda _: {**self.fleet.fleet(), "moves": self.core.moves.summary(),
                                            "problems": [a["text"] for a in self.alarms.active("fleet.")]} \
            if self.fleet and self.core else {"configured": False}
        commands.register(self)
        commands_calls.register(self)
        commands_risk.register(self)
        self._later: list[tuple[float, int, object]] = []  # (due, tie-break, action): paced work such as SMS
        self._later_ids = itertools.count()
        self.adapters = Adapters(pin_factory=pin_factory, post=self.post, open_pcm=open_pcm,
                                 open_capture=open_capture)
        self.actions: Actions | None = None  # once the records and the core exist
        self.listening = Listening(self.data_dir)  # supervisors listening to live calls in the browser
        self.hook.listen(self.listening.heard)  # a call's end ends its listeners' streams
        self.speech = SpeechService(self.data_dir, self.post, self.alarms)
        self.background = OffLoop(self.post)  # making prompts, and the replies that wait for them: never on the loop
        self.prompt_maker = PromptMaker(self.data_dir / "prompts", self.background, self.alarms)
        self.prompts = self.prompt_maker.sounds  # the sounds by name, as the actions and the tests look them up
        self.prompts_made = self.prompt_maker.made
        self.store: CallStore | None = None
        self.keeper: RecordKeeper | None = None
        self.answers: AnswerJournal | None = None
        self.control: ControlServer | None = None
        self.core: Switchboard | None = None
        self.status_view: StatusView | None = None  # once the core exists
        self.override: dict[str, Any] | None = None  # the web page's force open/closed, as kept on disk
        self.restart_requested = False  # the web page's "Restart now": `hotline run` exits with RESTART
        self.instance = Instance(self.data_dir, [line.port for line in config.lines], lock_dir)

    # The adapters by id, as the commands and the tests look them up.
    @property
    def handsets(self) -> dict[str, HandsetPort]:
        return self.adapters.handsets

    @property
    def lines(self) -> dict[str, LinePort]:
        return self.adapters.lines

    @property
    def players(self) -> dict[str, PlayerPort]:
        return self.adapters.players

    @property
    def recorders(self) -> dict[str, RecorderPort]:
        return self.adapters.recorders

    @property
    def control_path(self) -> Path:
        return self.data_dir / "control.sock"

    def post(self, item: object) -> None:
        self.events.put(item)

    def stop(self) -> None:
        self.events.put(_Stop())

    def run_actions(self, actions: list[object]) -> None:
        """Carry out actions a control command obtained from the core (on the loop, like every action)."""
        for action in actions:
            self._dispatch(action)

    def post_later(self, delay: float, action: object) -> None:
        """Carry out an action after a delay, from the loop: no thread sleeps for it."""
        heapq.heappush(self._later, (self.clock.monotonic() + delay, next(self._later_ids), action))

    # --- start and stop -------------------------------------------------------

    def start(self) -> None:
        """Bring up every adapter; on any failure, leave nothing half-started and every relay off."""
        try:
            self._start()
        except BaseException:
            self.shutdown()
            raise

    def _start(self) -> None:
        cfg = self.config
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Before anything is touched: a second daemon must not switch the first one's relays off.
        self.instance.acquire()
        # Handsets first: their outputs go off the moment they exist, whatever the last run left on.
        self.adapters.start_handsets(cfg)
        self.keeper = RecordKeeper(self.data_dir, cfg.records, self.clock, alarms=self.alarms)
        self.store = self.keeper.store
        self.answers = self.keeper.answers  # its unsettled answers (a crash) became records first
        interrupted = self.keeper.recover()
        if interrupted:
            log.warning("closed %d call(s) left open by an earlier run as interrupted", interrupted)
        # Prompts are made off the loop after READY=1 (a first start with 100 prompts took seconds here, a minute
        # on a Pi; made while the box started, their espeak-ng and sox slowed the start 3-fold): a caller who comes
        # first hears each as soon as it is made.
        self.prompt_maker.start(cfg)
        self.core = make_switchboard(cfg, self.clock, prompts=prompt_names(cfg))
        self.core.callers = self._keyed(cfg.people.callers)
        self.actions = Actions(self.adapters, core=self.core, store=self.store, answers=self.answers,
                               prompts=self.prompts, clock=self.clock, data_dir=self.data_dir, speech=self.speech)
        self.speech.configure(cfg, self.core)
        self.status_view = StatusView(core=self.core, privacy=self.store.privacy, adapters=self.adapters,
                                      alarms=self.alarms, speech=self.speech, prompts_made=self.prompts_made,
                                      config=lambda: self.config, override=lambda: self.override)
        self.apply_override(override.load(self.data_dir))
        self._start_alerts(cfg)
        self.texting = TextLine(self)  # incoming SMS become conversations (docs/texts.md)
        for line in cfg.lines:
            self.adapters.start_line(line, note_answer=self.answers.note)
        for pending in self.store.pending_callbacks():
            self.run_actions(self.core.restore_callback(pending["request_id"], pending["number"],
                                                        pending["attempts"]))
        self.control = ControlServer(self.control_path, self.post)
        if cfg.fleet is not None:
            self._start_fleet()
        self._drain_startup_events()
        self.clock_watch = ClockWatch(self.clock, self.keeper, self.core, self.alarms)
        self.clock_watch.check()  # "clock not set" is in the status from the first moment
        self.notifier.ready(self.summary())
        self.keeper.check_after_start()  # a call log too big to check before READY=1
        self.prompt_maker.make(cfg, self._prompts_made)
        log.info("hotline ready: %s", self.summary())

    def _start_fleet(self) -> None:
        from ..fleet.link import FleetLink  # paho-mqtt is loaded only by a box in a fleet

        self.fleet = FleetLink(self.config.fleet, name=self.config.name, status=self.status, data_dir=self.data_dir,
                               timezone=self.config.schedule.timezone, wall=self.clock.wall,
                               caller=lambda number: appear(number, "live", policy=self.store.privacy),
                               tell=self.hook.tell, wake=self.post)
        self.hook.listen(self.fleet.heard)
        self.fleet.start()

    def _prompts_made(self) -> None:
        self.core.plan.prompts = frozenset(self.prompts)  # a queue announcement that failed is not asked for
        self.actions.prompts_made()
        self.notifier.status(self.summary())

    def _drain_startup_events(self) -> None:
        """Apply LineUp/LineDown from start-up so READY=1 reports the real state of each line."""
        pending = []
        while True:
            try:
                pending.append(self.events.get_nowait())
            except queue.Empty:
                break
        for item in pending:
            if isinstance(item, _Stop):  # SIGTERM while starting: the loop stops as soon as it runs
                self.events.put(item)
            else:
                self._process(item)

    def shutdown(self) -> None:
        """Every relay off first, then release the hardware; safe to call more than once."""
        self.adapters.switch_off()
        self.prompt_maker.stop()
        self.background.close()  # the prompt in hand is finished, so nothing writes in prompts/ once stopped
        if self.fleet is not None:
            self.fleet.close()
            self.fleet = None
        if self.control is not None:
            self.control.close()
            self.control = None
        self.adapters.close()
        if self.alerting is not None:
            self.alerting.close()
            self.alerting = None
        self.speech.close()
        if self.answers is not None:
            self.answers.close()
        if self.keeper is not None:
            self.keeper.close()
            self.keeper = self.store = None
        self.instance.release()

    # --- the loop -------------------------------------------------------------

    def run(self) -> None:
        """Run until stop(); relays are off when this returns, however it returns."""
        self.notifier.status(self.summary())
        watchdog = self.notifier.watchdog_interval()
        next_ping = time.monotonic()
        try:
            while True:
                timeout = self._wait_time(watchdog, next_ping)
                try:
                    item = self.events.get(timeout=timeout)
                except queue.Empty:
                    item = ev.Tick()
                if isinstance(item, _Stop):
                    break
                self._process(item)
                while self._later and self._later[0][0] <= self.clock.monotonic():
                    self._dispatch(heapq.heappop(self._later)[2])
                self.clock_watch.check()
                self.keeper.maintain()
                self.keeper.beat(self.core.live_calls)
                if watchdog is not None and time.monotonic() >= next_ping:
                    # Only a loop that gets here is healthy: a hung loop stops petting and systemd restarts us.
                    self.notifier.ping()
                    self.notifier.status(self.summary())
                    next_ping = time.monotonic() + watchdog
        finally:
            self.notifier.stopping()
            self.shutdown()

    def _wait_time(self, watchdog: float | None, next_ping: float) -> float | None:
        now = self.clock.monotonic()
        waits = [self.keeper.seconds_until_due()]
        if not self.clock.synced():
            waits.append(CLOCK_CHECK)  # the time sync writes a file; looking every few seconds costs a stat()
        if self._later:
            waits.append(max(0.0, self._later[0][0] - now))
        deadline = self.core.next_deadline() if self.core else None
        if deadline is not None:
            waits.append(max(0.0, deadline - now))
        if watchdog is not None:
            waits.append(max(0.0, next_ping - time.monotonic()))
        return min(waits) if waits else None

    def _process(self, item: object) -> None:
        self._handle(item)
        if self.fleet is not None:  # anything may have changed the status (a timer, a pause): sent if it did
            self.fleet.refresh()

    def _handle(self, item: object) -> None:
        if isinstance(item, ControlRequest):
            answer(item, self.commands.get(item.command), self.background)
            return
        if isinstance(item, Done):
            try:
                item.then(item.outcome)
            except Exception:  # our bug in what follows work done off the loop: logged, never the daemon's end
                log.exception("could not finish %r", item)
            return
        if isinstance(item, BalanceRead):  # news for the hook only: the call logic has no use for it
            self.hook.tell("low_balance", line=item.line, text=item.text, amount=item.amount)
            return
        self.actions.observe(item)
        self.hook.seen(item)
        try:
            actions = self.core.handle(item)
        except Exception:
            log.exception("the core failed on %r", item)
            line = getattr(item, "line", None)
            actions = self.core.abort(line, "internal error") if line else []
        for action in actions:
            self._dispatch(action)

    def _dispatch(self, action: object, aborting: bool = False) -> None:
        try:
            self.actions.apply(action)
            self.hook.seen(action)
        except Exception:
            log.exception("could not carry out %r", action)
            line = getattr(action, "line", None)
            if line and not aborting:
                for follow_up in self.core.abort(line, f"hardware failed on {type(action).__name__}"):
                    self._dispatch(follow_up, aborting=True)

    def reconfigure_later(self, config: Config, applied: Callable[[], dict[str, Any]]) -> Pending:
        """A control command's answer: `config` applied once its prompts are made off the loop, then applied()
        gives the reply (PromptMaker.made_before: a prompt that cannot be made refuses the config)."""
        def then(prompts: dict[str, Sound]) -> dict[str, Any]:
            self.reconfigure(config, prompts)
            return applied()

        return self.prompt_maker.made_before(config, then)

    def reconfigure(self, config: Config, prompts: dict[str, Sound]) -> None:
        """Apply a new config and its prompts, made beforehand, between events: calls in progress carry on; new
        calls take the new flow. Lines and handsets need a restart to change (their hardware is open); the
        flow, schedule and prompts change at once.
        """
        self.prompt_maker.take(prompts)  # every prompt of the new config was made
        self.config = config
        if self.alerting is not None:
            self.alerting.sender.alerts = config.alerts
        else:
            self._start_alerts(config)
        # A "closed now" / "open now" from the web page outlasts a config change.
        schedule = dataclasses.replace(config.schedule, override=self.core.schedule.override,
                                       override_until=self.core.schedule.override_until)
        self.core.reconfigure(config.flow, schedule, self._keyed(config.people.callers), set(self.prompts))
        self.speech.configure(config, self.core)

    def _start_alerts(self, config: Config) -> None:
        if config.alerts.rules:  # no thread, no smtplib, no alert texts loaded for a box without alert rules
            from .alerting import Alerting

            self.alerting = Alerting(config, self.data_dir, hook=self.hook, privacy=self.store.privacy,
                                     alarms=self.alarms, lines=self.lines, line_state=lambda: self.core.line_state,
                                     wall=self.clock.wall, transcript_due=self.speech.transcript_due)

    def apply_override(self, state: dict[str, Any] | None) -> None:
        """Force the hotline open or closed (kept by `override`), or follow the hours again with None."""
        self.override = state
        mode, until = (state["mode"], state.get("until")) if state else (None, None)
        self.core.schedule = dataclasses.replace(self.core.schedule, override=mode, override_until=until)

    def _keyed(self, callers: CallerLists) -> CallerLists:
        """The caller lists able to match a caller blocked by key (from a call's record, number unseen)."""
        return dataclasses.replace(callers, key_of=self.store.privacy.key) if self.store else callers

    # --- status ---------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self.status_view.status()

    def summary(self) -> str:
        return self.status_view.summary() if self.status_view else "starting"
