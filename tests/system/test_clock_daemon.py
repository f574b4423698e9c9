"""The whole daemon booted in 1970, taking calls, then its clock set by NTP; and a step of years while it runs.

Real daemon, modem emulator on a pty, real SQLite file; the machine's clocks with a wall clock the test
steps and a time-sync file the test creates (as systemd-timesyncd does).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from appliance import config as configuration
from appliance.core.call import Call
from appliance.records.store.calls import CallStore
from appliance.service import control
from appliance.service.timesync import SystemTime
from appliance.sim.simulation import Simulation
from tests.support.status import loop_status
from tests.support.waiting import wait_until

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
    store.call_ended(call.record().as_dict())
    store.close()


@pytest.fixture
def box(tmp_path):
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    document["retention"] = {"calls": 30}
    document["callers"] = {"lists": {"announcements": ["+70000000001", "+70000000002"]}}
    simulation = Simulation(document)
    runners: dict = {}  # daemon -> the thread running its loop

    def start(steps: Steps, synced_file: Path, webhooks: list | None = None):
        from appliance.service.daemon import Daemon

        config = configuration.parse(dict(simulation.document, webhooks=webhooks or []), simulated=True)
        daemon = Daemon(config, data_dir=tmp_path / "data", pin_factory=simulation.pin_factory,
                        open_capture=simulation.open_capture,
                        clock=SystemTime(synced_file, wall=steps.wall))
        daemon.start()
        runner = threading.Thread(target=daemon.run, daemon=True)
        runner.start()
        runners[daemon] = runner
        return daemon

    start.runners = runners  # type: ignore[attr-defined]
    yield start, simulation, tmp_path / "data"
    for daemon, runner in runners.items():
        daemon.stop()
        runner.join(10)
    simulation.close()


def take_call(daemon, simulation, caller: str) -> None:
    emulator = simulation.emulators["gsm1"]
    before = emulator.count("ATA")
    emulator.incoming_call(caller)
    wait_until(lambda: emulator.count("ATA") > before, what="ATA")
    wait_until(lambda: loop_status(daemon)["calls"], what="the call")
    time.sleep(0.3)  # the behaviour: the call lasts a moment (its record has a duration)
    emulator.remote_hangup()
    wait_until(lambda: not loop_status(daemon)["calls"], what="the call to end")  # its record written, by then


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
    assert loop_status(daemon)["schedule"]["time_known"] is False
    daemon.alarms.set("maintenance.webhooks", "error", "webhooks cannot be sent")  # any alarm raised meanwhile
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
    shown = next(a for a in control.call(daemon.control_path, "status")["alarms"] if a["id"] == "maintenance.webhooks")
    assert true_start - 1 <= shown["since"] <= now  # the dashboard says when, in true time


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


def test_paced_sms_go_out_on_time_when_the_clock_steps_back(box, tmp_path):
    start, simulation, _ = box
    synced = tmp_path / "synchronized"
    synced.touch()
    steps = Steps(0.0)
    daemon = start(steps, synced)
    emulator = simulation.emulators["gsm1"]

    def sent() -> int:
        return emulator.count("AT+CMGS") + emulator.count("AT+CMGW")

    wait_until(lambda: loop_status(daemon)["lines"][0]["state"] == "up", what="the line")
    reply = control.call(daemon.control_path, "announcement.set", prompt="greeting", sms="Storm: stay indoors.")
    assert reply["sms_queued"] == 2  # the second 6 s after the first: networks throttle bursts
    wait_until(lambda: sent() >= 1, what="the first SMS")
    steps.offset = -YEARS
    wait_until(lambda: sent() >= 2, timeout=15, what="the second SMS")


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that refuses the first delivery, so the box retries it 5 s later."""

    received: list[float] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(time.monotonic())
        self.send_response(500 if len(Receiver.received) == 1 else 200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def retry_pending(data: Path) -> bool:
    with sqlite3.connect(data / "calls.db") as conn:
        return bool(conn.execute("SELECT 1 FROM webhook_outbox WHERE attempts = 1 AND delivered_at IS NULL").fetchall())


def test_a_webhook_retry_keeps_its_pause_when_the_clock_steps_back(box, tmp_path):
    start, simulation, _ = box
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hooks = [{"url": f"http://127.0.0.1:{server.server_port}/hook", "secret": "s" * 16, "events": ["call.ended"],
              "allow_http": True, "allow_private": True}]  # a receiver on loopback
    synced = tmp_path / "synchronized"
    synced.touch()
    steps = Steps(0.0)
    try:
        daemon = start(steps, synced, hooks)
        take_call(daemon, simulation, "+79161111111")
        wait_until(lambda: Receiver.received, what="the first delivery (refused)")
        # Stepped once the refusal is written, not when the receiver got the request: a step while the sender still
        # waits for the answer is another case (the sender stamps the retry after the loop moved the outbox)
        wait_until(lambda: retry_pending(daemon.data_dir), what="the retry noted in the outbox")
        steps.offset = -YEARS
        wait_until(lambda: "clock.step" in alarms(daemon) and len(Receiver.received) >= 2, timeout=20,
                   what="the retry, about 5 s after the refusal")
        assert Receiver.received[1] - Receiver.received[0] < 15
    finally:
        server.shutdown()


def stop(start, daemon) -> None:
    """Stop it and join its loop: the next daemon on the data directory takes the instance lock, which is
    released last of all (waiting only for the records to close let the next start find it still held)."""
    daemon.stop()
    runner = start.runners[daemon]
    runner.join(10)
    assert not runner.is_alive(), "the daemon's loop did not stop"


def in_true_time(data: Path, callers: tuple[str, ...], since: float) -> None:
    rows, now = calls(data), time.time()
    for caller in callers:
        started, ended = rows[caller]
        assert since - 1 <= started <= ended <= now, (caller, started, ended, since, now)


def test_a_restart_before_the_clock_is_set_loses_no_record_to_it(box, tmp_path):
    start, simulation, data = box
    true_start = time.time()
    steps, synced = Steps(1 * DAY - true_start), tmp_path / "synchronized"
    daemon = start(steps, synced)
    take_call(daemon, simulation, "+79161111111")
    stop(start, daemon)  # still 1970: an update, a crash, a power cut
    daemon = start(steps, synced)
    take_call(daemon, simulation, "+79162222222")
    steps.offset = 0.0
    synced.touch()
    wait_until(lambda: "clock.unset" not in alarms(daemon), timeout=15, what="the clock to be seen as set")
    in_true_time(data, ("+79161111111", "+79162222222"), true_start)


def test_records_of_a_run_before_the_clock_was_set_move_when_the_next_run_starts_with_it_set(box, tmp_path):
    start, simulation, data = box
    true_start = time.time()
    steps, synced = Steps(1 * DAY - true_start), tmp_path / "synchronized"
    daemon = start(steps, synced)
    take_call(daemon, simulation, "+79161111111")
    stop(start, daemon)
    steps.offset = 0.0  # the time is set while the daemon is down
    synced.touch()
    daemon = start(steps, synced)
    assert not alarms(daemon)
    in_true_time(data, ("+79161111111",), true_start)  # moved, and so not deleted by retention at start
