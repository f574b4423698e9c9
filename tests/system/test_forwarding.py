"""Overflow through the network (issue 21): a line's conditional call forwarding to a sibling box's number is set
from the config at start (AT+CCFC), read back from the network and shown; call waiting is switched off so a
busy line really is busy. The emulated modem answers +CCFC as 27.007 describes."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from appliance import config as configuration
from appliance.ops.hwcheck import format_findings, probe
from appliance.sim.emulator import ModemEmulator
from tests.support.status import loop_status
from tests.support.waiting import wait_until

SIBLING = "+79169990002"


def forwarding_document(**line) -> dict:
    document = configuration.default_document()
    document["lines"][0].update({"forward_to": SIBLING, **line})
    return document


def forwarding(daemon) -> dict | None:
    modem = loop_status(daemon)["lines"][0]["modem"] or {}
    found = modem.get("forwarding")
    return found if found and found["in_force"] is not None else None


def test_a_line_forwards_to_its_sibling_on_busy_no_reply_and_not_reachable_with_call_waiting_off(start_box):
    daemon, simulation = start_box(forwarding_document(forward_after=15))
    emulator = simulation.emulators["gsm1"]
    shown = wait_until(lambda: forwarding(daemon), timeout=30, what="the forwarding read back")
    assert emulator.script.forwards.active() == {"busy": SIBLING, "no_reply": SIBLING, "not_reachable": SIBLING}
    assert shown["problem"] is None
    assert shown["in_force"]["no_reply"] == {"active": True, "number": SIBLING, "seconds": 15}
    assert emulator.count("AT+CCWA=0,0") == 1  # the network's call waiting off: busy means busy
    assert not [a for a in loop_status(daemon)["alarms"] if a["id"].endswith("forwarding")]


@pytest.mark.slow
def test_forwarding_the_network_refuses_is_an_alarm_naming_the_condition(start_box):
    document = forwarding_document(forward_on=["busy"])
    daemon, simulation = start_box(document)
    emulator = simulation.emulators["gsm1"]
    wait_until(lambda: forwarding(daemon), timeout=30, what="the forwarding read back")
    assert emulator.script.forwards.active() == {"busy": SIBLING}  # the conditions not wanted are erased
    emulator.script.forwards.rules.clear()  # someone switched it off from a phone meanwhile...
    emulator.script.forwards.refused = True  # ...and the network now refuses it
    daemon.adapters.lines["gsm1"].forwarding.apply()
    alarm = wait_until(lambda: [a for a in loop_status(daemon)["alarms"] if a["id"] == "line.gsm1.modem.forwarding"],
                       timeout=30, what="the forwarding alarm")[0]
    assert "busy" in alarm["text"] and alarm["severity"] == "warning"


def test_hotline_check_hardware_reads_the_forwarding_back_from_the_network(tmp_path):
    """`hotline check --hardware` asks the network (queries only) and names what is not as configured."""
    emulator = ModemEmulator("sim800")
    emulator.start()
    try:
        emulator.script.forwards.reply(f'AT+CCFC=1,3,"{SIBLING}",145', "AT+CCFC=1,3")  # busy only, set by hand
        emulator.script.forwards.commands.clear()
        (tmp_path / "dev").mkdir()
        (tmp_path / "dev/ttyUSB0").symlink_to(emulator.port)
        findings = probe({"gsm1": "/dev/ttyUSB0"}, sys_root=tmp_path,
                         forwards={"gsm1": (SIBLING, ("busy", "no_reply", "not_reachable"))})
        finding = next(f for f in findings if f.what == "line gsm1 call forwarding")
        assert not finding.ok
        assert finding.found == f"busy: to {SIBLING}; no_reply: off; not_reachable: off"
        assert "[FAIL] line gsm1 call forwarding" in format_findings(findings)
        assert emulator.script.forwards.commands == ["AT+CCFC=1,2", "AT+CCFC=2,2", "AT+CCFC=3,2"]  # it only asked
    finally:
        emulator.stop()


@pytest.mark.slow
def test_a_caller_the_network_forwarded_here_is_recorded_as_forwarded(start_box):
    """The sibling's side of an overflow: the network says +CSSU: 0 as it sets the call up (AT+CSSN=0,1 asks it
    to); the call's timeline says so."""
    daemon, simulation = start_box()
    emulator = simulation.emulators["gsm1"]
    assert emulator.wait_for("AT+CSSN=0,1", timeout=30)
    emulator.report("+CSSU: 0")
    emulator.incoming_call("+79161234567")
    wait_until(lambda: loop_status(daemon)["lines"][0]["call"] is not None, what="the call taken")
    emulator.remote_hangup()
    wait_until(lambda: loop_status(daemon)["lines"][0]["call"] is None, what="the call over")
    emulator.incoming_call("+79161234568")  # the next caller came straight, not forwarded
    wait_until(lambda: loop_status(daemon)["lines"][0]["call"] is not None, what="the second call taken")
    emulator.remote_hangup()

    def timelines() -> dict[str, list[str]]:
        with contextlib.closing(sqlite3.connect(daemon.data_dir / "calls.db")) as db:
            rows = db.execute("SELECT c.started_at, e.event FROM calls c JOIN call_events e ON e.call_id = c.id "
                              "ORDER BY c.started_at, e.at").fetchall()
        found: dict[str, list[str]] = {}
        for started, event in rows:
            found.setdefault(started, []).append(event)
        return found

    first, second = wait_until(lambda: len(found := list(timelines().values())) == 2 and found,
                               what="both calls recorded")
    assert "FORWARDED" in first and "FORWARDED" not in second
