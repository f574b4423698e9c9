"""Relays are off whenever the software is not in control: start, exit, SIGTERM, crash, failed start."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading

import pytest

from appliance import config as configuration
from appliance.service.daemon import Daemon
from appliance.sim.simulation import Simulation
from tests.support.status import loop_status
from tests.support.waiting import wait_until

OUTPUTS = (17, 22, 5, 13)


def make(tmp_path) -> tuple[Daemon, Simulation]:
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    simulation = Simulation(document)
    config = configuration.parse(simulation.document, simulated=True)
    return simulation.daemon(config, tmp_path / "data"), simulation


def states(simulation: Simulation) -> list[int]:
    return [simulation.pin_factory.pin(n).state for n in OUTPUTS]


def ring_both(daemon: Daemon, simulation: Simulation) -> None:
    """Put the box mid-call with both handsets ringing."""
    emulator = simulation.emulators["gsm1"]
    emulator.incoming_call("+15550001")
    assert emulator.wait_for("ATA", 5)
    wait_until(lambda: loop_status(daemon)["calls"], 5, "the call in the flow")
    emulator.send_dtmf("10")  # English, then "anything else"
    wait_until(lambda: states(simulation)[0] + states(simulation)[2] == 2, 10, "both handsets ringing")


def test_outputs_are_off_at_start_even_if_left_on(tmp_path):
    document = configuration.default_document()
    simulation = Simulation(document)
    for n in OUTPUTS:  # as a crashed run, or the firmware of a badly wired board, might leave them
        pin = simulation.pin_factory.pin(n)
        pin.function = "output"
        pin.state = 1
    assert states(simulation) == [1, 1, 1, 1]
    daemon = simulation.daemon(configuration.parse(simulation.document, simulated=True), tmp_path)
    daemon.start()
    try:
        assert states(simulation) == [0, 0, 0, 0]
    finally:
        daemon.shutdown()
        simulation.close()


def test_sigterm_mid_ring_leaves_every_relay_off(tmp_path):
    daemon, simulation = make(tmp_path)
    daemon.start()
    previous = signal.signal(signal.SIGTERM, lambda *_: daemon.stop())
    try:
        def ring_then_terminate():
            ring_both(daemon, simulation)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=ring_then_terminate, daemon=True).start()
        daemon.run()  # in the main thread, where the signal arrives
    finally:
        signal.signal(signal.SIGTERM, previous)
        simulation.close()
    assert states(simulation) == [0, 0, 0, 0]


def test_normal_exit_leaves_every_relay_off(tmp_path):
    daemon, simulation = make(tmp_path)
    daemon.start()
    runner = threading.Thread(target=daemon.run)
    runner.start()
    try:
        ring_both(daemon, simulation)
    finally:
        daemon.stop()
        runner.join(10)
        simulation.close()
    assert states(simulation) == [0, 0, 0, 0]


def test_unexpected_exception_in_the_loop_leaves_every_relay_off(tmp_path):
    daemon, simulation = make(tmp_path)
    daemon.start()
    failure = []

    def run():
        try:
            daemon.run()
        except RuntimeError as exc:
            failure.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    try:
        ring_both(daemon, simulation)

        def explode(timeout, next_ping):
            raise RuntimeError("the loop itself broke")

        daemon._wait_time = explode
        daemon.post(object())  # wakes the loop, which now fails outside any call
        runner.join(10)
    finally:
        simulation.close()
    assert failure and states(simulation) == [0, 0, 0, 0]


def test_an_error_inside_one_call_ends_that_call_not_the_daemon(tmp_path):
    daemon, simulation = make(tmp_path)
    daemon.start()
    runner = threading.Thread(target=daemon.run)
    runner.start()
    try:
        ring_both(daemon, simulation)

        def broken_connect(line):
            raise OSError("relay board unplugged")

        daemon.handsets["h1"].connect = broken_connect
        simulation.pin_factory.pin(27).drive_low()  # h1 lifts: connecting fails
        wait_until(lambda: loop_status(daemon)["calls"] == [], 5, "the call ended")
        assert states(simulation) == [0, 0, 0, 0]
        assert simulation.emulators["gsm1"].wait_for("ATH", 5)
        assert runner.is_alive()
    finally:
        daemon.stop()
        runner.join(10)
        simulation.close()
    with sqlite3.connect(tmp_path / "data" / "calls.db") as conn:
        outcome, reason = conn.execute("SELECT outcome, reason FROM calls").fetchone()
    assert outcome == "failed" and "ConnectAudio" in reason


def test_a_missing_sound_card_leaves_its_line_down_with_the_reason_and_unanswered(tmp_path):
    daemon, simulation = make(tmp_path)

    def no_sound_card(*args):
        raise OSError("ALSA: no such card")

    daemon.adapters.open_pcm = no_sound_card
    daemon.start()
    try:
        line = daemon.status()["lines"][0]
        assert line["state"] == "down" and "sound card 'null'" in line["reason"] and "no such card" in line["reason"]
        simulation.emulators["gsm1"].incoming_call("+15550001", busy_wait=0)
        assert not simulation.emulators["gsm1"].wait_for("ATA", 1)
        assert states(simulation) == [0, 0, 0, 0]
    finally:
        daemon.shutdown()
        simulation.close()


def test_a_start_that_fails_leaves_nothing_on(tmp_path):
    daemon, simulation = make(tmp_path)
    (tmp_path / "data").mkdir()
    # A damaged calls.db no longer stops the start (it is salvaged); a garbage privacy key still does.
    (tmp_path / "data" / "privacy.key").write_bytes(b"this is not a key")
    with pytest.raises(Exception, match="is not a privacy key"):
        daemon.start()
    simulation.close()
    assert states(simulation) == [0, 0, 0, 0]
    assert daemon.handsets == {} and daemon.control is None


def test_a_call_cut_by_a_crash_is_closed_as_interrupted_on_restart(tmp_path):
    daemon, simulation = make(tmp_path)
    daemon.start()
    runner = threading.Thread(target=daemon.run)
    runner.start()
    ring_both(daemon, simulation)
    # Simulate kill -9: the database is left with an open call; nothing gets to close it.
    db = tmp_path / "data" / "calls.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM calls WHERE ended_at IS NULL").fetchone()[0] == 1
    copy = tmp_path / "crashed"
    copy.mkdir()
    with sqlite3.connect(db) as src, sqlite3.connect(copy / "calls.db") as dst:
        src.backup(dst)
    daemon.stop()
    runner.join(10)
    simulation.close()
    again, simulation2 = make(tmp_path)
    again.data_dir = copy
    again.start()
    again.shutdown()
    simulation2.close()
    with sqlite3.connect(copy / "calls.db") as conn:
        rows = conn.execute("SELECT outcome, ended_at IS NOT NULL FROM calls").fetchall()
    assert rows == [("interrupted", 1)]


def test_a_presence_switch_logs_its_operator_in_and_out(tmp_path):
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    document["handsets"][0]["presence_pin"] = 23
    simulation = Simulation(document)
    daemon = simulation.daemon(configuration.parse(simulation.document, simulated=True), tmp_path)
    daemon.start()
    runner = threading.Thread(target=daemon.run)
    runner.start()

    def anna() -> str:
        return {o["name"]: o["state"] for o in loop_status(daemon)["operators"]}["Anna"]

    try:
        switch = simulation.pin_factory.pin(23)
        assert anna() == "logged_out"  # the switch was open at start: nobody at the desk
        switch.drive_low()  # Anna sits down
        wait_until(lambda: anna() == "available", 5, "Anna available")
        switch.drive_high()  # Anna leaves her desk
        wait_until(lambda: anna() == "logged_out", 5, "Anna logged out")
        switch.drive_low()  # and comes back
        wait_until(lambda: anna() == "available", 5, "Anna available again")
    finally:
        daemon.stop()
        runner.join(10)
        simulation.close()


def test_a_stop_asked_for_while_the_box_starts_stops_it_once_started(tmp_path):
    """SIGTERM (systemctl stop, a shutdown) while the box is still starting: the signal handler asks for the stop
    then, as daemon.stop() here. The box must stop once started, relays off, not run on until systemd kills it."""
    daemon, simulation = make(tmp_path)
    runner = threading.Thread(target=daemon.run, daemon=True)
    try:
        daemon.stop()  # arrives during start(), which took the lines' events queued meanwhile
        daemon.start()
        runner.start()
        runner.join(10)
        assert not runner.is_alive(), "the stop asked for during the start was lost"
        assert states(simulation) == [0, 0, 0, 0]
    finally:
        if runner.is_alive():
            daemon.stop()
            runner.join(10)
        simulation.close()
