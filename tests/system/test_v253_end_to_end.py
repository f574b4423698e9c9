"""A landline call through the real daemon, on a V.253 voice modem that carries the audio over its serial port.

The modem is the emulator on a pseudo-terminal opened by pyserial, speaking the v253 dialect: RING with
caller ID between the rings, AT+VLS=1 off-hook, AT+VSM/AT+VTX with <DLE> framing for the prompts, <DLE>
codes for keys and for the exchange's busy tone. Handsets are gpiozero devices on MockFactory pins, the
prompts are spoken by espeak-ng, the record lands in a real SQLite file.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from appliance import config as configuration
from appliance.audio.voice_format import to_modem
from appliance.sim.simulation import Simulation
from tests.support.boxes import running_daemon
from tests.support.status import loop_status
from tests.support.waiting import wait_until

RING = {"h1": 17, "h2": 5}
AUDIO = {"h1": 22, "h2": 13}
HOOK = {"h1": 27, "h2": 6}
CALLER = "5551234"
PERIOD_BYTES = 320  # one 20 ms period of line audio






@pytest.fixture(params=["v253"])
def box(tmp_path, monkeypatch, request):
    document = configuration.default_document()
    document["ringing"] = {"cadence": "custom", "custom": [0.3, 0.2]}
    document["lines"][0].update(id="pots1", dialect="v253")
    for handset in document["handsets"]:
        handset["audio_pins"] = {"pots1": handset["audio_pins"].pop("gsm1")}
    document["flow"]["start"] = "welcome"  # greeting, then the menu
    for node in ("choose_language", "language"):
        del document["flow"]["nodes"][node]
    document["prompts"]["greeting"]["text"] = "Hello."
    simulation = Simulation(document)
    simulation.document["lines"][0]["dialect"] = request.param  # the modem stays a V.253 one
    voice = simulation.emulators["pots1"].voice
    voice.formats = [f for f in voice.formats if "ULAW" in f or "ADPCM" in f]  # no linear PCM: G.711 it is
    try:
        with running_daemon(simulation, tmp_path / "data") as daemon:
            yield daemon, simulation, tmp_path / "data" / "calls.db"
    finally:
        simulation.close()


def test_a_landline_call_carries_its_prompts_over_the_serial_port(box):
    daemon, simulation, database = box
    emulator = simulation.emulators["pots1"]
    voice = emulator.voice
    pin = simulation.pin_factory.pin
    assert emulator.wait_for("AT+VSM=131,8000", timeout=5), "the daemon chose u-law, the one format offered"

    # The phone rings with caller ID between the rings; the box goes off-hook.
    emulator.incoming_call(CALLER)
    assert emulator.wait_for("AT+VLS=1", timeout=5)

    # The greeting reaches the modem whole, in u-law, exactly as the daemon rendered it.
    greeting, menu = (daemon.prompts[p].read_bytes() for p in ("greeting", "main_menu"))  # cache files
    assert voice.wait(lambda v: len(v.transmissions) >= 1, timeout=15), "greeting transmitted"
    sent = voice.transmissions[0]
    assert sent.fmt == "ulaw" and not sent.cancelled
    assert sent.data == to_modem(greeting + b"\x00" * (-len(greeting) % PERIOD_BYTES), "ulaw")

    # The menu follows; the caller presses 1 a second into it, and the box cuts it short at once.
    wait_until(lambda: emulator.count("AT+VTX") >= 2 and voice.mode == "tx", what="menu playing")
    time.sleep(1.0)  # the behaviour: the caller listens to a second of the menu first
    emulator.send_dtmf("1")
    assert voice.wait(lambda v: len(v.transmissions) >= 2, timeout=5), "menu ended"
    cut = voice.transmissions[1]
    assert cut.cancelled, "barge-in ends the prompt with <DLE><CAN>"
    assert 0 < len(cut.data) < len(menu) // 4 and len(cut.data) % (PERIOD_BYTES // 2) == 0
    assert cut.data == to_modem(menu[:len(cut.data) * 2], "ulaw")

    # Key 1 is legal questions: only Anna's handset (h1) has that skill, and it rings; ringback plays.
    wait_until(lambda: pin(RING["h1"]).state == 1, what="h1 rings")
    assert pin(RING["h2"]).state == 0
    wait_until(lambda: emulator.count("AT+VTX") >= 3, what="ringback to the caller")

    # Anna lifts: ringing stops, her audio relay closes, the ringback is cut.
    pin(HOOK["h1"]).drive_low()
    wait_until(lambda: pin(AUDIO["h1"]).state == 1, what="h1 audio relay closed")
    wait_until(lambda: pin(RING["h1"]).state == 0, what="ringing stopped")
    assert voice.wait(lambda v: len(v.transmissions) >= 3 and v.mode is None, timeout=5)
    assert voice.transmissions[2].cancelled

    # The caller hangs up: the exchange's busy tone (<DLE>b) is the only sign on an analogue line.
    time.sleep(1.0)  # the behaviour: they talk for a second (the record's talk time)
    emulator.remote_hangup()
    wait_until(lambda: pin(AUDIO["h1"]).state == 0, what="audio relay opened")

    def records():
        with sqlite3.connect(database) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM calls")]

    wait_until(lambda: records() and records()[0]["ended_at"] is not None, what="call record finished")
    (record,) = records()
    assert record["caller"] == CALLER and record["line"] == "pots1"
    assert record["menu_path"] == "1"
    assert record["handset"] == "h1" and record["operator"] == "Anna"
    assert 0.9 < record["talk_seconds"] < 5
    assert record["outcome"] == "completed" and record["ended_by"] == "caller"
    assert emulator.wait_for("ATH", timeout=5), "the box went back on-hook"


@pytest.mark.parametrize("box", ["auto"], indirect=True)
def test_auto_detecting_a_voice_modem_carries_the_audio_over_its_serial_port(box):
    daemon, simulation, _ = box
    emulator = simulation.emulators["pots1"]
    assert emulator.wait_for("AT+VSM=131,8000", timeout=5), "voice formats asked of the detected modem"
    emulator.incoming_call(CALLER)
    assert emulator.wait_for("AT+VLS=1", timeout=10)
    assert emulator.voice.wait(lambda v: len(v.transmissions) >= 1, timeout=15), "greeting sent to the modem"
    assert loop_status(daemon)["lines"][0]["modem"]["dialect"] == "v253"
