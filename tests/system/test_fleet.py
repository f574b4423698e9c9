"""Several boxes, one broker (issue 21): the real daemon publishing to a real Mosquitto over TLS with a password,
read by a subscriber as an admin's laptop would; a box killed outright; the broker restarted."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jsonschema

from appliance.fleet.client import RETRY_MAX
from tests.support.broker import (  # noqa: F401 - the fixtures
    Listener,
    box_data,
    broker_fixture,
    fleet_document,
    prompt_cache_fixture,
)
from tests.support.status import loop_status
from tests.support.waiting import wait_until

CALLER = "+79161234567"
DUTY_PHONE = "+79160000099"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "fleet.md"


def schemas() -> dict[str, dict]:
    """The JSON schemas docs/fleet.md gives, by the topic kind each heading names."""
    text = DOCS.read_text()
    found = re.findall(r"### `hotline/<box>/(\w+)`.*?```json\n(.*?)```", text, flags=re.S)
    return {kind: json.loads(body) for kind, body in found}


def test_a_box_publishes_its_status_and_events_and_no_caller_number_leaves_it(broker, prompt_cache, start_box,
                                                                              tmp_path):
    listener = Listener(broker)
    try:
        daemon, simulation = start_box(fleet_document(broker, "office-1"), data=box_data(prompt_cache, tmp_path / "d"))
        # The first status may go out while the line is still starting: the one that follows says it is up.
        status = wait_until(lambda: (s := listener.last("hotline/office-1/status")) and
                            s["lines"][0]["signal_bars"] is not None and s, what="the retained status, line up")
        assert status["lines"] == [{"id": "gsm1", "state": "up", "busy": False, "signal_bars": 5}]
        assert status["operators"]["free"] == 2 and status["waiting"]["callers"] == 0
        assert listener.last("hotline/office-1/online") == {"box": "office-1", "online": True}

        # A caller rings and hangs up in the menu: the events tell of it, and the status follows the line.
        emulator = simulation.emulators["gsm1"]
        emulator.incoming_call(CALLER)
        wait_until(lambda: any(s["lines"][0]["busy"] for s in listener.on("hotline/office-1/status")),
                   what="the line shown busy")
        emulator.remote_hangup()
        events = wait_until(lambda: [e["event"] for e in listener.on("hotline/office-1/events")
                                     if e["event"] in ("call_ended", "abandoned")] and
                            listener.on("hotline/office-1/events"), what="the call's end")
        assert [e["event"] for e in events] == ["line_up", "call_started", "call_ended"]
        assert [e["seq"] for e in events] == [1, 2, 3]
        wait_until(lambda: not listener.last("hotline/office-1/status")["lines"][0]["busy"], what="the line free")

        # Counts and states only: neither the number nor its pseudonym in anything the broker carried.
        everything = listener.raw()
        assert CALLER not in everything and CALLER[-7:] not in everything
        with contextlib.closing(sqlite3.connect(daemon.data_dir / "calls.db")) as db:
            (key,) = db.execute("SELECT caller_key FROM calls").fetchone()
        assert key and key not in everything

        # Each payload meets the schema docs/fleet.md gives for its topic.
        documented = schemas()
        assert set(documented) == {"status", "events", "online", "moves"}
        for topic, payload, _ in listener.messages:
            if payload is not None:
                jsonschema.validate(payload, documented[topic.rsplit("/", 1)[1]])
    finally:
        listener.close()


def test_a_box_killed_outright_is_shown_offline_by_its_last_will_and_its_sibling_texts_the_duty_phone(
        broker, prompt_cache, start_box, tmp_path):
    listener = Listener(broker)
    box_data(prompt_cache, tmp_path / "data")
    sibling = fleet_document(broker, "office-1")
    sibling["alerts"] = [{"event": "box_offline", "recipients": [DUTY_PHONE], "channel": "sms"}]
    _, simulation = start_box(sibling, data=box_data(prompt_cache, tmp_path / "sibling"))
    document = tmp_path / "box.json"
    document.write_text(json.dumps(fleet_document(broker, "office-2")))
    box = subprocess.Popen([sys.executable, "-m", "tests.support.fleet_box", str(tmp_path / "data"), str(document)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert box.stdout.readline().strip() == "ready"
        wait_until(lambda: (listener.last("hotline/office-2/online") or {}).get("online") is True,
                   what="office-2 online")
        box.send_signal(signal.SIGKILL)
        box.wait(10)
        wait_until(lambda: listener.last("hotline/office-2/online") == {"box": "office-2", "online": False},
                   timeout=10, what="the broker's last will for office-2")
        # The alerts rule of a sibling (docs/alerts.md) tells the duty phone by SMS.
        texts = wait_until(lambda: simulation.emulators["gsm1"].script.messages.sent_sms, timeout=20,
                           what="the box_offline SMS")
        assert texts[0][0] == DUTY_PHONE and "office-2 is offline" in texts[0][1]
    finally:
        if box.poll() is None:
            box.kill()
        listener.close()


def test_a_siblings_line_dropping_texts_the_duty_phone_of_the_box_with_the_rule(broker, prompt_cache, start_box,
                                                                                 tmp_path):
    """The sibling's retained status says its line is down: the box with the rule texts the duty phone through
    its own modem (the alerts' real SMS path), naming the box and the line."""
    watcher = fleet_document(broker, "office-4")
    watcher["alerts"] = [{"event": "sibling_line_down", "recipients": [DUTY_PHONE], "channel": "sms"}]
    watching, simulation = start_box(watcher, data=box_data(prompt_cache, tmp_path / "watcher"))
    _, sibling_simulation = start_box(fleet_document(broker, "office-5"),
                                      data=box_data(prompt_cache, tmp_path / "sibling"))
    wait_until(lambda: [r["line_states"] for r in watching.fleet.fleet()["boxes"] if r["box"] == "office-5"] ==
               [[{"id": "gsm1", "state": "up", "busy": False, "signal_bars": 5}]],
               what="office-5's line up, as the watching box hears it")
    sibling_simulation.emulators["gsm1"].set_registration(3)  # the network denies it: the line goes down
    texts = wait_until(lambda: simulation.emulators["gsm1"].script.messages.sent_sms, timeout=30,
                       what="the sibling_line_down SMS")
    assert texts[0][0] == DUTY_PHONE and "line gsm1 of the fleet's box office-5 is down" in texts[0][1]
    assert len(texts) == 1


def test_events_made_while_the_broker_is_away_arrive_when_it_returns_the_queue_bounded(broker, prompt_cache,
                                                                                       start_box, tmp_path):
    laptop = Listener(broker, session="laptop-catch-up")  # the broker keeps its messages while it is away
    try:
        daemon, simulation = start_box(fleet_document(broker, "office-3", queue=2),
                                       data=box_data(prompt_cache, tmp_path / "d"))
        wait_until(lambda: listener_status(laptop, "office-3"), what="office-3's status")
        broker.stop()
        wait_until(lambda: not daemon.fleet.client.connected, 20, "the box to notice the broker gone")
        gone = time.monotonic()
        emulator = simulation.emulators["gsm1"]
        # Asked through the loop: a call the status no longer shows has had its call_ended queued, so the
        # broker comes back only after all four events (the test thread's read could come before it).
        for _ in range(2):  # two calls: four events, two more than the queue holds
            emulator.incoming_call(CALLER)
            wait_until(lambda: loop_status(daemon)["lines"][0]["call"] is not None, 20, "the call taken")
            emulator.remote_hangup()
            wait_until(lambda: loop_status(daemon)["lines"][0]["call"] is None, 20, "the call over")
        away = time.monotonic() - gone
        broker.start()
        # Its tries come up to RETRY_MAX s apart by now (the calls took a while on a loaded machine): it is back
        # within that of the broker's return, and the laptop hears it a moment later.
        status = wait_until(lambda: (s := listener_status(laptop, "office-3")) and s["events_dropped"] and s,
                            timeout=RETRY_MAX + 20,
                            what=f"office-3 back, telling of the events it dropped (the broker was away "
                                 f"{away:.0f} s; the box connected: {daemon.fleet.client.connected})")
        assert status["events_dropped"] == 2
        events = wait_until(lambda: len(laptop.on("hotline/office-3/events")) >= 3 and
                            laptop.on("hotline/office-3/events"), what="the kept events")
        # line_up (1) came before the broker went; of the two calls' four events the newest two were kept.
        once = {e["seq"]: e["event"] for e in events}  # QoS 1 is at least once: a repeat has the same seq
        assert once == {1: "line_up", 4: "call_started", 5: "call_ended"}
    finally:
        laptop.close()


def listener_status(listener: Listener, box: str) -> dict | None:
    return listener.last(f"hotline/{box}/status")
