"""The whole daemon booted in 1970, taking calls, then its clock set by NTP; and a step of years while it runs.

Real daemon, modem emulator on a pty, real SQLite file; the machine's clocks with a wall clock the test
steps and a time-sync file the test creates (as systemd-timesyncd does).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from waiting import wait_until

from appliance import config as configuration
from appliance import control
from appliance.core.call import Call
from appliance.simulation import Simulation
from appliance.store.calls import CallStore
from appliance.timesync import SystemTime

DAY = 86400.0
YEARS = 3 * 365 * DAY


class Steps:
    """How far the test has stepped the wall clock from the true time."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def wall(self) -> float:
        return time.time() + self.offset


def old_call(data: Path, started_at: float) -> None:
    """A call 40 days old in true time: retention at 30 days must delete it once the time is known."""
    store = CallStore(data / "calls.db")
    call = Call(id="old", line="gsm1", caller="+79160000000", started_at=started_at)
    call.ended_at, call.outcome, call.ended_by = started_at + 60, "left in menu", "caller"
    store.call_started(call.id, call.line, call.caller, started_at)
    store.call_ended(call.record())
    store.close()


@pytest.fixture
def box(tmp_path):
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    document["retention"] = {"calls": 30}
    simulation = Simulation(document)
    daemons = []

    def start(steps: Steps, synced_file: Path):
        from appliance.daemon import Daemon

        config = configuration.parse(simulation.document, simulated=True)
        daemon = Daemon(config, data_dir=tmp_path / "data", pin_factory=simulation.pin_factory,
                        open_capture=simulation.open_capture,
                        clock=SystemTime(synced_file, wall=steps.wall))
        daemon.start()
        runner = threading.Thread(target=daemon.run, daemon=True)
        runner.start()
        daemons.append((daemon, runner))
        return daemon

    yield start, simulation, tmp_path / "data"
    for daemon, runner in daemons:
        daemon.stop()
        runner.join(10)
    simulation.close()


def take_call(daemon, simulation, caller: str) -> None:
    emulator = simulation.emulators["gsm1"]
    before = emulator.count("ATA")
    emulator.incoming_call(caller)
    wait_until(lambda: emulator.count("ATA") > before, what="ATA")
    wait_until(lambda: daemon.status()["calls"], what="the call")
    time.sleep(0.3)
    emulator.remote_hangup()
    wait_until(lambda: not daemon.status()["calls"], what="the call to end")


def calls(data: Path) -> dict[str, tuple]:
    with sqlite3.connect(data / "calls.db") as conn:
        rows = conn.execute("SELECT caller, started_at, ended_at FROM calls").fetchall()
        events = conn.execute("SELECT MIN(at), MAX(at) FROM call_events").fetchone()
    return {caller: (started, ended) for caller, started, ended in rows} | {"events": events}


def alarms(daemon) -> set[str]:
    """Asked over the control socket, as the web page asks: each question is a turn of the daemon's loop."""
    return {a["id"] for a in control.call(daemon.control_path, "status")["alarms"]}


def test_booted_in_1970_then_synced_keeps_every_call_and_moves_it_to_the_true_time(box, tmp_path):
    start, simulation, data = box
    data.mkdir()
    true_start = time.time()
    old_call(data, true_start - 40 * DAY)
    steps = Steps(1 * DAY - true_start)  # the box believes it is 2 January 1970
    synced = tmp_path / "synchronized"
    daemon = start(steps, synced)
    assert "clock.unset" in alarms(daemon)
    assert daemon.status()["schedule"]["time_known"] is False
    for caller in ("+79161111111", "+79162222222"):
        take_call(daemon, simulation, caller)
    assert set(calls(data)) >= {"+79160000000", "+79161111111", "+79162222222"}
    assert calls(data)["+79161111111"][0] < 2 * DAY  # stamped in 1970 for now

    steps.offset = 0.0  # NTP steps the clock to the true time...
    synced.touch()  # ...and timesyncd says so
    wait_until(lambda: "clock.unset" not in alarms(daemon), timeout=15, what="the clock to be seen as set")
    wait_until(lambda: "+79160000000" not in calls(data), what="retention to run on the true times")
    after = calls(data)
    now = time.time()
    for caller in ("+79161111111", "+79162222222"):
        started, ended = after[caller]
        assert true_start - 1 <= started <= ended <= now, (caller, started, ended, true_start, now)
    low, high = after["events"]
    assert true_start - 1 <= low <= high <= now


def test_a_step_of_years_while_running_deletes_nothing_and_is_an_alarm(box, tmp_path):
    start, simulation, data = box
    synced = tmp_path / "synchronized"
    synced.touch()
    steps = Steps(0.0)
    daemon = start(steps, synced)
    assert not alarms(daemon)
    take_call(daemon, simulation, "+79161111111")
    steps.offset = YEARS
    wait_until(lambda: "clock.step" in alarms(daemon), what="the step to be seen")
    take_call(daemon, simulation, "+79162222222")
    assert {"+79161111111", "+79162222222"} <= set(calls(data))
