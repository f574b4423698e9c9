"""Calls through the real daemon on GSM modems whose voice runs over USB: a voice port, or a USB sound card.

The modem is the emulator on a pseudo-terminal opened by pyserial, with its USB voice port as a second pty:
quiet until the family's switching command (Huawei AT^DDSETEX=2, SIM7600 AT+CPCMREG=1 after VOICE CALL:
BEGIN, Quectel AT+QPCMV=1,0), then taking a 320-byte frame every 20 ms (what the caller hears) and sending
the caller's voice, keys included as DTMF tones, the same way. Nothing but the audio carries the keys here:
the line listens for them itself (software_dtmf), so a menu choice proves the capture path end to end.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from appliance import config as configuration
from appliance.audio.voice_port import LIVE_WAIT
from appliance.sim.emulator_usb_voice import key_tone
from appliance.sim.simulation import Simulation
from tests.support.status import loop_status
from tests.support.waiting import wait_until

CALLER = "+79161234567"
RING_H1 = 17
SWITCH_ON = {"huawei": "AT^DDSETEX=2", "sim7600": "AT+CPCMREG=1", "quectel": "AT+QPCMV=1,0"}


def _box(tmp_path, dialect: str, audio: str, tune=None):
    document = configuration.default_document()
    document["ringing"] = {"cadence": "custom", "custom": [0.3, 0.2]}
    document["lines"][0].update(dialect=dialect, audio=audio, software_dtmf=True)
    document["flow"]["start"] = "welcome"  # greeting, then the menu
    for node in ("choose_language", "language"):
        del document["flow"]["nodes"][node]
    document["prompts"]["greeting"]["text"] = "Hello."
    document["prompts"]["main_menu"]["text"] = "Press one."
    raw = tmp_path / "gsm1.raw"
    simulation = Simulation(document, audio_device=f"file:FILE={raw},FORMAT=raw")
    if tune is not None:
        tune(simulation.emulators["gsm1"])
    config = configuration.parse(simulation.document, simulated=True)
    daemon = simulation.daemon(config, tmp_path / "data")
    daemon.start()
    runner = threading.Thread(target=daemon.run, daemon=True)
    runner.start()
    assert daemon.prompts_made.wait(60)  # made after READY=1: the test compares what callers hear with them
    return daemon, simulation, runner, raw


@pytest.fixture
def boxes(tmp_path):
    made = []

    def make(dialect: str, audio: str = "serial", tune=None):
        made.append(_box(tmp_path, dialect, audio, tune))
        return made[-1]

    yield make
    for daemon, simulation, runner, _ in made:
        daemon.stop()
        runner.join(timeout=10)
        simulation.close()


def records(daemon):
    with sqlite3.connect(daemon.data_dir / "calls.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM calls")]


def _caller_hears_greeting_and_chooses(daemon, simulation):
    emulator = simulation.emulators["gsm1"]
    port = emulator.voice_port
    emulator.incoming_call(CALLER)
    greeting = daemon.prompts["greeting"].read_bytes()  # the cache file: exactly what must reach the caller
    assert port.wait(lambda p: greeting in p.heard, timeout=20), "the caller heard the whole greeting"
    assert port.switches == [SWITCH_ON[emulator.dialect]]
    menu = daemon.prompts["main_menu"].read_bytes()
    assert port.wait(lambda p: menu[:3200] in p.heard, timeout=10), "the menu followed"
    port.caller_presses("1")  # a key in the audio, nothing else: the modem reports no DTMF here
    wait_until(lambda: simulation.pin_factory.pin(RING_H1).state == 1, what="a legal-skill handset rings")
    emulator.remote_hangup()
    wait_until(lambda: records(daemon) and records(daemon)[0]["ended_at"] is not None, what="record closed")
    (record,) = records(daemon)
    assert record["menu_path"] == "1" and record["caller"] == CALLER
    wait_until(lambda: not port.on, what="voice port quiet after the call")


@pytest.mark.slow
@pytest.mark.parametrize("dialect", ["huawei", "sim7600", "quectel"])
def test_a_caller_hears_the_greeting_and_chooses_over_the_modems_voice_port(boxes, dialect):
    daemon, simulation, _, _ = boxes(dialect)
    emulator = simulation.emulators["gsm1"]
    _caller_hears_greeting_and_chooses(daemon, simulation)
    if dialect == "sim7600":  # switched on after VOICE CALL: BEGIN, and off at the end, or the next call is mute
        assert emulator.wait_for("AT+CPCMREG=0", timeout=5)
        assert emulator.received.index("AT+CPCMREG=1") > emulator.received.index("ATA")


@pytest.mark.slow
def test_a_modem_that_switches_its_voice_port_late_still_plays_the_greeting_from_the_start(boxes):
    def late(emulator):
        emulator.voice_port.switch_delay = 1.0

    daemon, simulation, _, _ = boxes("sim7600", tune=late)
    _caller_hears_greeting_and_chooses(daemon, simulation)


@pytest.mark.slow
def test_a_silent_voice_port_is_named_in_the_log(boxes, caplog):
    def silent(emulator):
        emulator.voice_port.silent = True

    daemon, simulation, _, _ = boxes("huawei", tune=silent)
    simulation.emulators["gsm1"].incoming_call(CALLER)
    port = daemon.players["gsm1"].voice.path  # the line's audio_port, as the admin wrote it

    def named() -> list[str]:
        return [m for r in caplog.records if "sent no sound on its voice port" in (m := r.getMessage())]

    # the player counts the silent start a moment before its thread writes the log line: wait for the line itself
    (line, *_) = wait_until(named, timeout=15, what="the silent voice port named in the log")
    assert port in line
    assert daemon.players["gsm1"].silent_starts >= 1, "the greeting started unheard"


@pytest.mark.slow
def test_a_quectel_line_on_its_usb_sound_card_switches_uac_on_and_plays_into_alsa_and_shows_volte(boxes):
    daemon, simulation, _, raw = boxes("quectel", audio="uac")
    emulator = simulation.emulators["gsm1"]
    # the line's VoLTE state is read once it is up and shown in its status (the emulated EC25 has IMS off)
    wait_until(lambda: (loop_status(daemon)["lines"][0]["modem"] or {}).get("volte"), what="VoLTE state read")
    assert loop_status(daemon)["lines"][0]["modem"]["volte"] == 'VoLTE off (AT+QCFG="ims": IMS switched off)'
    emulator.incoming_call(CALLER)
    assert emulator.wait_for("AT+QPCMV=1,2", timeout=10)
    assert emulator.received.index("AT+QPCMV=1,2") > emulator.received.index("ATA")
    greeting = daemon.prompts["greeting"].read_bytes()
    wait_until(lambda: raw.exists() and greeting in raw.read_bytes(), timeout=20, what="greeting into the card")
    assert emulator.script.usb.uac_voice, "the call's voice is on the modem's USB sound card"
    # the key as a tone in the card's capture (the simulation's stand-in for the modem's USB sound card)
    simulation.microphones["gsm1"].say(key_tone("1"))
    wait_until(lambda: simulation.pin_factory.pin(RING_H1).state == 1, what="a legal-skill handset rings")
    assert emulator.voice_port.heard == b"", "nothing went to the serial voice port"


@pytest.mark.slow
def test_after_the_stick_drops_off_usb_and_returns_the_next_caller_hears_the_greeting(tmp_path):
    """USB re-enumeration takes the voice port away with the AT port; both come back under their stable names,
    the voice port after the line is back in service and a caller was answered. The greeting waits for it (it
    used to play into the void once the voice port's reopening backoff left it away beyond LIVE_WAIT)."""
    from appliance.sim.emulator import ModemEmulator

    def stable_names(emulator):
        emulator.stop()  # replaced by one on stable names, as udev gives (/dev/hotline/gsm1-at, -audio)
        replacement = ModemEmulator("huawei", link=str(tmp_path / "gsm1-at"))
        replacement.start()
        return replacement

    document = configuration.default_document()
    document["lines"][0].update(dialect="huawei", audio="serial", software_dtmf=True)
    document["flow"]["start"] = "welcome"
    for node in ("choose_language", "language"):
        del document["flow"]["nodes"][node]
    simulation = Simulation(document)
    emulator = simulation.emulators["gsm1"] = stable_names(simulation.emulators["gsm1"])
    line = simulation.document["lines"][0]
    line.update(port=emulator.port, audio_port=emulator.voice_port.port)
    assert line["audio_port"] == str(tmp_path / "gsm1-at-audio")
    daemon = simulation.daemon(configuration.parse(simulation.document, simulated=True), tmp_path / "data")
    daemon.start()
    runner = threading.Thread(target=daemon.run, daemon=True)
    runner.start()
    assert daemon.prompts_made.wait(60)  # made after READY=1: the test compares what callers hear with them
    try:
        greeting = daemon.prompts["greeting"].read_bytes()
        emulator.incoming_call(CALLER)
        assert emulator.voice_port.wait(lambda p: greeting in p.heard, timeout=20), "first caller heard it"
        emulator.remote_hangup()
        wait_until(lambda: records(daemon) and records(daemon)[0]["ended_at"] is not None, what="first record")
        emulator.unplug()
        emulator.voice_port.heard.clear()
        emulator.replug(voice_port=False)
        wait_until(lambda: loop_status(daemon)["lines"][0]["modem"]["recoveries"] >= 1
                   and loop_status(daemon)["lines"][0]["modem"]["state"] == "up", timeout=30, what="line back")
        emulator.incoming_call("+79160000002")
        assert emulator.voice_port.wait(lambda p: len(p.switches) == 2, timeout=20), "answered, voice switched"
        time.sleep(LIVE_WAIT + 0.5)  # the fault: the voice port's interface comes back this much later
        emulator.voice_port.replug()
        assert emulator.voice_port.wait(lambda p: greeting in p.heard, timeout=20), "the next caller heard it too"
    finally:
        daemon.stop()
        runner.join(timeout=10)
        simulation.close()
