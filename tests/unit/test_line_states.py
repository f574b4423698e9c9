"""The line's call state machine under random interleavings (hypothesis stateful testing), per dialect.

The line's own code (calls.py and its table) and the real switchboard run single-threaded here: the worker's
jobs, the event loop's queue and the modem's reports are separate rules, so hypothesis chooses their order
as the threads might. The modem and the network are a small model that answers the AT commands the line
sends with the texts of the vendor's manual (the emulator's FAMILIES), and reports in the dialect's words.

Invariants: every caller who keeps ringing is answered (unless the modem refused ATA every time, and then
the call is rejected, not left ringing); every call has exactly one complete record; no call is left up
in the modem after the box considers it ended.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from appliance import config as configuration
from appliance.core import events as ev
from appliance.core.clock import FakeClock
from appliance.modem import call_states as cs
from appliance.modem.answer import ANSWER_ATTEMPTS
from appliance.modem.at import AtTimeout, DleEvent, Reply
from appliance.modem.calls import Calls
from appliance.modem.dialects import dialect_named
from appliance.service.switchboard_setup import make_switchboard
from appliance.sim.emulator_families import FAMILIES

LINE = "gsm1"
ATA_RESULTS = ("OK", "ERROR", "+CME ERROR: 3", "NO CARRIER", "timeout")
NEXT_CALLER = "next caller"
# The caller's NO CARRIER reaches the box before the modem has read the ATA: the box reads it as the ATA's reply,
# and the modem's own reply to the ATA (OK if the next caller rang meanwhile and was answered) is owed.
READ_LATE = "read late"
# The modem answers (OK) and the caller's call drops at once: the reader reads the drop before the worker, waiting
# on the ATA, has taken the OK (the soak's third form).
DROPPED_AT_ONCE = "dropped at once"


@dataclass
class Session:
    """One caller's attempt, as the network sees it."""

    number: str | None
    refused: int = 0  # ATAs the modem refused while this caller rang
    box_ids: set[str] = field(default_factory=set)  # the box's call ids for it (the ids its ATAs answered)
    answered: bool = False  # the modem answered them (whichever ATA did)
    cut: bool = False  # the line failed during their call: a new call (and record) of theirs may follow
    # The caller before them left while it rang without the modem saying so (silently, or on an analogue line)
    # and they rang within the RING gap: the box cannot tell them apart, so their records are not counted.
    unsure: bool = False


class LineMachine(RuleBasedStateMachine):
    dialect_name = "sim800"

    def __init__(self) -> None:
        super().__init__()
        self.dialect = dialect_named(self.dialect_name)
        self.family = FAMILIES[self.dialect_name]
        self.clock = FakeClock()
        self.modem = "idle"  # idle | ringing | active (the call as the modem holds it)
        self.session: Session | None = None
        self.ata_plan: deque[str] = deque()
        self.after_reply: list[str | bytes] = []  # reports the modem sends just after a command's reply
        self.jobs: deque = deque()
        self.urgent: deque = deque()
        self.loop: deque = deque()
        self.line_down = False
        self.started: dict[str, int] = {}
        self.ended: dict[str, int] = {}
        self.picked_up: str | None = None  # the caller an ATA meant for another answered (see NEXT_CALLER)
        self.sessions: dict[str, Session] = {}  # every caller with a number (each number is one caller's)
        self.late_ata = False  # an ATA the modem has not read yet (READ_LATE)
        self.drop_after_final = False  # DROPPED_AT_ONCE
        self.left_unseen = False  # the last caller left while it rang and nothing said so
        self.owed: deque[tuple[str, list[str]]] = deque()  # finals the modem still sends, each with reports after
        self.records: dict[str, list[dict]] = {}  # the ended records by caller number
        cfg = configuration.parse(configuration.default_document(), simulated=True)
        self.core = make_switchboard(cfg, self.clock)
        self.core.handle(ev.LineUp(LINE))
        self.calls = Calls(LINE, post=self.loop.append, command=self.command, later=self.jobs.append,
                           urgent=self.urgent.append, dialect=lambda: self.dialect, clock=self.clock,
                           answer_after_rings=1 if self.dialect.gsm else 2)  # as ModemLine sets it
        self.calls.back(self.command)

    # --- the modem: AT commands in, texts out ----------------------------------------------

    def command(self, text: str, timeout: float = 3.0, *, stale: int = 0, on_final=None, **_: object) -> Reply:
        """The modem reads commands in order: a late ATA first, and the final it owes comes before this reply
        (taken as this reply's final, unless the command skips owed finals). `on_final` as the AT channel's
        reader calls it: as the final is read, before the reports after it."""
        if self.late_ata:
            self.modem_reads_the_late_ata(send=False)
        reply = self.reply_to(text)
        if self.owed:
            final, after = self.owed.popleft()
            if stale:
                self.after_reply += after
                reply = Reply(text, reply.lines, reply.final, (final,))
            else:
                self.after_reply += [*after, *reply.lines, reply.final]  # read with no command waiting: as reports
                reply = Reply(text, [], final)
        if on_final is not None:
            on_final(reply)
        if self.drop_after_final:  # read by the reader before the command's thread takes its reply
            self.drop_after_final = False
            self.caller_hangs_up(silent=False, dropped=True)
        return reply

    def reply_to(self, text: str) -> Reply:
        if text == self.dialect.answer_command:
            result = self.ata_plan.popleft() if self.ata_plan else "OK"
            if result == READ_LATE and self.modem == "ringing":
                self.caller_hangs_up(silent=True, dropped=False)
                self.late_ata, self.left_unseen = True, False  # their NO CARRIER is read, as the ATA's reply
                return Reply(text, [], "NO CARRIER")
            if result == DROPPED_AT_ONCE and self.modem == "ringing":
                self.drop_after_final, result = True, "OK"
            if result == NEXT_CALLER and self.modem == "ringing":
                # The caller hangs up as the ATA is on its way (the reader reads NO CARRIER first) and the next
                # caller rings in that moment: the ATA reaches the modem and answers them.
                self.report("NO CARRIER")
                self.modem, self.session, result = "ringing", self.new_session("+7916999"), "OK"
                self.ring()  # their RING and number reach the box before the ATA's OK
                self.picked_up = self.session.number
            if result == "timeout":
                raise AtTimeout(f"no answer to {text}")
            if self.modem != "ringing":
                if self.dialect.gsm:
                    return Reply(text, [], "NO CARRIER")
                self.modem = "active"  # off-hook on a line nobody calls: the exchange's dial tone says so
                self.after_reply.append(b"\x10d")
                return Reply(text, [], "OK")
            if result == "OK":
                self.modem, self.session.answered = "active", True
                self.session.box_ids.add(self.calls.call_id)
            elif result != "NO CARRIER":
                self.session.refused += 1
            else:
                self.modem, self.session = "idle", None  # the caller left just as ATA went out
            return Reply(text, [], result)
        if text == self.dialect.hangup_command or text == "AT+CHLD=0":
            if self.modem == "active" or (self.modem == "ringing" and self.dialect.gsm):
                self.modem, self.session = "idle", None
            return Reply(text, [], "OK")
        if text == "AT+CLCC":
            stat = {"active": 0, "ringing": 4}.get(self.modem)
            number = (self.session.number if self.session else None) or ""
            lines = [f'+CLCC: 1,1,{stat},0,0,"{number}",129'] if stat is not None else []
            return Reply(text, lines, "OK")
        if text == "AT+CPAS":
            return Reply(text, [f"+CPAS: {({'idle': 0, 'ringing': 3}).get(self.modem, 4)}"], "OK")
        return Reply(text, [], "OK")

    def modem_reads_the_late_ata(self, *, send: bool = True) -> None:
        """The late ATA answers whoever rings now (the next caller), or finds no call; its reply is owed, and
        sent now unless a command is waiting (`send` False: the command's reply comes after it)."""
        self.late_ata = False
        if self.modem == "ringing":
            self.modem, self.session.answered = "active", True
            number = self.session.number or ""
            self.owed.append(("OK", [r.format(num=number) for r in self.family.answered]))
        else:
            self.owed.append(("NO CARRIER", []))
        while send and self.owed:
            final, after = self.owed.popleft()
            self.report(final, *after)

    def new_session(self, number: str | None) -> Session:
        """A new caller; a number is made theirs alone, so their records can be counted."""
        if number is not None:
            number = f"{number}{len(self.sessions):03d}"
        session = Session(number, unsure=self.left_unseen)
        self.left_unseen = False
        if number is not None:
            self.sessions[number] = session
        return session

    def report(self, *texts: str | bytes) -> None:
        """What the AT channel's reader does with a report line (or a <DLE> code)."""
        for text in texts:
            token = DleEvent(chr(text[1])) if isinstance(text, bytes) else text
            for happening in self.dialect.parse(token):
                self.calls.happen(happening)

    def ring(self) -> None:
        self.report("RING")
        if self.session is not None:
            number = self.session.number or ""
            if self.dialect.gsm:
                self.report(f'+CLIP: "{number}",129,"",0,"",{0 if number else 1}')
            else:
                self.report(f"NMBR = {number or 'P'}")

    # --- the box: the worker's jobs and the event loop -------------------------------------------

    def run_job(self) -> None:
        job = self.urgent.popleft() if self.urgent else self.jobs.popleft()
        try:
            job()
        except AtTimeout:
            self.fail("the modem stopped answering")
        reports, self.after_reply = self.after_reply, []
        self.report(*reports)

    def fail(self, reason: str) -> None:
        """What LineRecovery._fail does: the call state first, then LineDown to the core."""
        if self.line_down:
            return
        self.line_down = True
        if self.late_ata:  # the modem reads it; what it replies is lost with the port
            self.modem_reads_the_late_ata(send=False)
        self.owed.clear()
        for session in self.sessions.values():
            session.cut = True  # a caller still ringing after the line is back becomes a new call
        self.calls.drop(reason)
        self.loop.append(ev.LineDown(LINE, reason))
        self.urgent.clear()
        self.jobs.clear()  # recovery drops what was queued

    def process(self, event: object) -> None:
        for action in self.core.handle(event):
            match action:
                case ev.CallStarted(call_id=call_id):
                    self.started[call_id] = self.started.get(call_id, 0) + 1
                case ev.CallEnded(record=record):
                    self.ended[record.id] = self.ended.get(record.id, 0) + 1
                    self.records.setdefault(record.caller, []).append(record)
                    assert record.outcome and record.ended_by, record
                case ev.HangUp():  # what ModemLine.hangup does
                    self.calls.forget()
                    self.jobs.append(self.calls.hangup)

    def settle(self) -> None:
        """Let the worker and the loop run until both are idle (no report arrives meanwhile)."""
        for _ in range(200):
            if self.loop:
                self.process(self.loop.popleft())
            elif self.urgent or self.jobs:
                self.run_job()
            else:
                return
        raise AssertionError("the box never settles")

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        if not self.line_down and self.calls.wait(self.clock()) <= 0:
            self.jobs.append(lambda: self.calls.tick(self.clock()))
        self.loop.append(ev.Tick())

    # --- rules: the caller and the network -----------------------------------------------------

    @initialize()
    def up(self) -> None:
        self.settle()

    @rule(number=st.sampled_from(["+7916123", "5551", None]))
    def caller_dials(self, number: str | None) -> None:
        if self.modem == "idle":
            self.modem, self.session = "ringing", self.new_session(number)
            self.ring()

    @rule(storm=st.booleans())
    def ring_again(self, storm: bool) -> None:
        if self.modem == "ringing":
            self.clock.advance(0.01 if storm else 3.0)
            self.ring()

    @rule(times=st.integers(1, 150))
    def ring_storm_without_a_call(self, times: int) -> None:
        """A RING every 10 ms with no call behind it (a glitching modem or line), the box working meanwhile."""
        if self.modem == "idle":
            for _ in range(times):
                self.clock.advance(0.01)
                self.report("RING")
                self.settle()

    @precondition(lambda self: self.modem == "ringing")
    @rule()
    def caller_leaves_as_ata_goes_out(self) -> None:
        """The caller hangs up just as the box answers: ATA meets NO CARRIER (a redial may follow at once)."""
        self.ata_plan.appendleft("NO CARRIER")
        self.settle()

    @precondition(lambda self: self.modem == "ringing" and self.dialect.gsm and not self.line_down)
    @rule()
    def caller_leaves_and_the_next_rings_as_ata_goes_out(self) -> None:
        self.ata_plan.appendleft(NEXT_CALLER)
        self.picked_up = None
        self.settle()
        if self.picked_up is not None:
            assert self.modem == "active", "the caller the ATA picked up was hung up on"
            call = self.core.line_calls[LINE]
            assert call is not None and call.caller == self.picked_up, "the caller the ATA picked up has no call"
            self.picked_up = None

    @precondition(lambda self: self.modem == "ringing" and self.dialect.gsm and not self.line_down)
    @rule()
    def caller_leaves_as_ata_goes_out_and_the_modem_reads_it_late(self) -> None:
        """The caller's NO CARRIER overtakes the ATA: the box reads it as the ATA's reply. The modem reads the
        ATA later (modem_reads_the_late_ata, or before the next command), after the next caller may have rung."""
        self.ata_plan.appendleft(READ_LATE)

    @precondition(lambda self: self.modem == "ringing" and self.dialect.gsm)
    @rule()
    def the_call_drops_as_the_ata_is_answered(self) -> None:
        self.ata_plan.appendleft(DROPPED_AT_ONCE)

    # A late ATA's OK read before the check's AT+CPAS, its caller gone before the check: the OK itself (read
    # with no command in flight) or the family's answer report says the ATA answered them (Quectel sends none).
    @precondition(lambda self: self.late_ata)
    @rule()
    def modem_reads_the_late_ata_now(self) -> None:
        self.modem_reads_the_late_ata()

    @precondition(lambda self: self.modem == "idle" and self.dialect.gsm and not self.line_down)
    @rule(gap=st.sampled_from([1.5, 3.0, 0.01]), settle=st.booleans())
    def the_next_caller_rings_before_the_modem_reads_a_late_ata(self, gap: float, settle: bool) -> None:
        """The form the soak lost a record to: a caller rings and hangs up as the ATA goes out, their NO CARRIER
        is read as the ATA's reply, the next caller rings (a call of its own after the RING gap) and only then
        does the modem read the ATA, which answers them; its OK comes before the reply to the next command."""
        self.caller_dials("+7916777")
        self.ata_plan.appendleft(READ_LATE)
        while self.urgent and not self.late_ata and self.calls.state == cs.ANSWERING:
            self.run_job()  # the ATA (nothing queued behind it runs yet)
        self.clock.advance(gap)
        self.caller_dials("+7916555")
        if settle:
            self.settle()

    @rule(silent=st.booleans(), dropped=st.booleans())
    def caller_hangs_up(self, silent: bool, dropped: bool) -> None:
        was = self.modem
        self.session = None
        # An analogue line stays off-hook, hearing busy tone, until the box hangs up; GSM ends the call.
        self.modem = "active" if was == "active" and not self.dialect.gsm else "idle"
        if was != "idle":  # (a hang-up with no call changes nothing)
            self.left_unseen = was == "ringing" and (silent or not self.dialect.gsm)
        if was == "ringing" and not silent and self.dialect.gsm:
            self.report("NO CARRIER")
        elif was == "active":
            reports = self.family.dropped if dropped and self.family.dropped else self.family.ended
            self.report(*(r.format(num="") if isinstance(r, str) else r for r in reports))

    @rule(result=st.sampled_from(ATA_RESULTS))
    def modem_will_answer_ata_with(self, result: str) -> None:
        self.ata_plan.append(result)

    @rule(digit=st.sampled_from("19#"))
    def caller_presses(self, digit: str) -> None:
        if self.modem == "active":
            key = self.family.dtmf(digit)
            self.report(key)

    @rule()
    def modem_reports_the_call_list(self) -> None:
        if self.dialect.gsm and self.modem != "idle":
            self.report(f'+CLCC: 1,1,{0 if self.modem == "active" else 4},0,0,"",129')

    @rule(seconds=st.sampled_from([0.01, 0.5, 3.0, 9.0, 40.0]))
    def time_passes(self, seconds: float) -> None:
        if self.session is not None and self.modem == "ringing" and seconds >= 8.0:
            self.session.unsure = True  # no RING that long: the box takes them for gone (RING_GONE), a redial is new
        self.advance(seconds)

    @rule()
    def port_lost(self) -> None:
        self.fail("port lost")

    @precondition(lambda self: self.line_down)
    @rule()
    def line_recovers(self) -> None:
        self.settle()
        self.line_down = False
        self.calls.back(self.command)
        self.loop.append(ev.LineUp(LINE))

    # --- rules: the box's threads --------------------------------------------------------------

    @precondition(lambda self: self.urgent or self.jobs)
    @rule()
    def worker_runs_a_job(self) -> None:
        self.run_job()

    @precondition(lambda self: self.loop)
    @rule()
    def loop_handles_an_event(self) -> None:
        self.process(self.loop.popleft())

    # --- the invariants ------------------------------------------------------------------------

    @precondition(lambda self: self.modem == "ringing" and not self.line_down)
    @rule()
    def a_caller_who_keeps_ringing_is_answered(self) -> None:
        self.ata_plan.clear()
        session = self.session
        for _ in range(ANSWER_ATTEMPTS + 2):
            self.settle()
            if self.modem != "ringing":
                break
            self.clock.advance(3.0)
            self.advance(0)
            self.ring()
        self.settle()
        if session.refused >= ANSWER_ATTEMPTS:
            assert self.modem == "idle", "a call the modem would not answer is rejected, not left ringing"
        else:
            assert self.modem == "active", f"a caller rang on and was not answered (line {self.calls.state})"

    @rule()
    def everything_ends(self) -> None:
        """The caller hangs up, time passes: every call has exactly one complete record and nothing is up."""
        self.caller_hangs_up(silent=False, dropped=False)
        self.settle()
        if self.line_down:
            self.line_recovers()
            self.settle()
        for _ in range(3):
            self.advance(40.0)
            self.settle()
        assert self.calls.state == cs.IDLE, self.calls.state
        assert self.core.line_calls[LINE] is None, "the core still holds a call"
        assert self.modem == "idle", "a call is left up in the modem"
        assert all(n == 1 for n in self.started.values()), self.started
        assert self.ended == {call_id: 1 for call_id in self.started}, (self.started, self.ended)
        self.each_caller_has_one_record()

    def each_caller_has_one_record(self) -> None:
        """A caller (a number) the line never failed on has at most one record, and one that says answered
        if the modem answered them, whichever ATA did."""
        for number, session in self.sessions.items():
            if session.cut or session.unsure:
                continue
            records = self.records.get(number, [])
            assert len(records) <= 1, f"caller {number} has {len(records)} records: {records}"
            if session.answered and session is not self.session:
                assert records and records[0].answered_at is not None, f"answered caller {number}: {records}"

    def teardown(self) -> None:
        self.settle()
        if not self.line_down and self.core.line_calls[LINE] is None and self.calls.state == cs.IDLE:
            assert self.modem != "active", "a call the box has ended is still up in the modem"
        assert all(n == 1 for n in self.ended.values()), self.ended
        assert set(self.ended) <= set(self.started), "a record ended that never started"
        if not self.line_down:
            self.each_caller_has_one_record()


def machine_for(dialect: str) -> type[LineMachine]:
    return type(f"LineMachine_{dialect}", (LineMachine,), {"dialect_name": dialect})


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["sim800", "sim7600", "quectel", "huawei", "v253"])
def test_the_line_under_random_interleavings(dialect):
    machine = machine_for(dialect)
    machine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
    machine.TestCase().runTest()


@pytest.mark.parametrize("dialect", ["sim800", "huawei"])
def test_an_ata_that_answers_the_next_caller_gives_them_the_call(dialect):
    """The sequence the soak found: a caller leaves while it rings just as the ATA goes out, the next caller
    rings in that moment and the ATA answers them: they get a call (and a record) of their own."""
    machine = machine_for(dialect)()
    machine.up()
    machine.caller_dials("+79161234567")
    machine.caller_leaves_and_the_next_rings_as_ata_goes_out()
    machine.everything_ends()
    machine.teardown()


@pytest.mark.parametrize("dialect", ["sim800", "sim7600", "quectel", "huawei"])
def test_a_late_ata_that_answers_a_caller_whose_ring_started_a_call_leaves_them_one_record(dialect):
    """The sequence hypothesis found for the soak's lost record, replayed: on the code before the answer check
    the second caller got two records (one 'missed', one answered) and a second call the box picked up."""
    machine = machine_for(dialect)()
    machine.up()
    machine.the_next_caller_rings_before_the_modem_reads_a_late_ata(gap=1.5, settle=True)
    machine.everything_ends()
    machine.teardown()


@pytest.mark.parametrize("dialect", ["sim800", "huawei"])
def test_a_call_that_drops_as_its_ata_is_answered_is_recorded_answered(dialect):
    """The soak's third form: the modem answers and the call drops at once, and the reader reads the drop before
    the worker has taken the ATA's OK. Before, the record said 'missed' and the line hung up (ATH) whoever
    rang next; the OK now moves the state as it is read."""
    machine = machine_for(dialect)()
    machine.up()
    machine.caller_dials("+7916123")
    machine.the_call_drops_as_the_ata_is_answered()
    machine.settle()
    machine.everything_ends()
    machine.teardown()


@pytest.mark.parametrize("dialect", ["quectel", "sim800"])
def test_a_late_ata_whose_ok_comes_before_the_check_leaves_its_caller_gone_since_one_answered_record(dialect):
    """Issue 14: a caller leaves as the ATA goes out (their NO CARRIER read as its reply), the next caller rings,
    the modem reads the ATA late and answers them, its OK arrives with no command in flight, and they hang up
    before the check. Quectel reports no answer of its own: before, that caller got no record at all."""
    machine = machine_for(dialect)()
    machine.up()
    machine.caller_dials("+7916777")
    machine.caller_leaves_as_ata_goes_out_and_the_modem_reads_it_late()
    while machine.urgent and not machine.late_ata:
        machine.run_job()  # the ATA; the check it queues waits
    assert machine.calls.state == cs.CHECKING
    machine.caller_dials("+7916555")
    machine.modem_reads_the_late_ata_now()
    machine.caller_hangs_up(silent=False, dropped=False)
    machine.everything_ends()
    machine.teardown()
    (answered,) = machine.records["+7916555001"]
    assert answered.answered_at is not None and answered.ended_by == "caller"
