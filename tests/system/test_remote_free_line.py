"""A remote operator dialled on a second, free line, the box carrying the audio between the two lines (issue 20
item 1): the real daemon on two pty modem emulators (SIM7600, voice over their USB voice ports). The caller is never
held and hears the box's music while Vera declines and Gleb's phone rings and hears the whisper; once Gleb presses 1
a tone the caller says reaches Gleb's phone and one Gleb says reaches the caller; Gleb hanging up leads to the
flow's next step, and a caller hanging up hangs up the operator's leg."""

from __future__ import annotations

import contextlib
import math
import socket
import threading
from array import array

import pytest

from appliance.records.store.queries import CallLog
from appliance.service import control
from appliance.sim.simulation import Simulation
from tests.support import prompt_seed
from tests.support.boxes import running_daemon
from tests.support.status import loop_status, on_loop
from tests.support.waiting import wait_until
from tests.system.test_remote_operators import GLEB, VERA, remote_document

RATE = 8000


def tone(hz: float, seconds: float) -> bytes:
    return array("h", (int(8000 * math.sin(2 * math.pi * hz * n / RATE)) for n in range(int(seconds * RATE)))).tobytes()


def share(pcm: bytes, hz: float) -> float:
    """The part of the audio's energy at `hz` (Goertzel): about 1 for a pure tone there, about 0 for others."""
    samples = array("h", pcm[:len(pcm) - len(pcm) % 2])
    if not samples:
        return 0.0
    coeff = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    energy = sum(x * x for x in samples)
    return 2 * power / (len(samples) * energy) if energy else 0.0


def best(pcm: bytes, hz: float, window: int = 4000) -> float:
    """The largest share of `hz` in any window of the audio."""
    return max((share(pcm[at:at + window], hz) for at in range(0, max(1, len(pcm) - window), window // 2)),
               default=0.0)


class Listened:
    """A browser listener's stream, read from the daemon's socket as the web app would (call.listen)."""

    def __init__(self, reply: dict) -> None:
        assert reply["both_sides"] is True
        self.pcm = bytearray()
        self._cond = threading.Condition()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(reply["socket"])
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        with contextlib.suppress(OSError):  # closed by the test
            while data := self._sock.recv(4096):
                with self._cond:
                    self.pcm += data
                    self._cond.notify_all()

    def wait(self, predicate, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(bytes(self.pcm)), timeout)

    def close(self) -> None:
        self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


def heard_since(port, mark: int) -> bytes:
    return bytes(port.heard[mark:])


def two_line_document() -> dict:
    document = remote_document()
    document["lines"] = [{"id": line, "port": "sim", "dialect": "sim7600", "audio": "serial"}
                         for line in ("gsm1", "gsm2")]
    for handset in document["handsets"]:
        handset["audio_pins"] = {"gsm1": handset["audio_pins"]["gsm1"]}
    document["queue"]["hold_music"] = "greeting"  # heard throughout (ringback's cadence is mostly silence)
    return document


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    data = tmp_path_factory.mktemp("free-line")
    simulation = Simulation(two_line_document())
    prompt_seed.seed(data)
    try:
        with running_daemon(simulation, data) as daemon:
            prompt_seed.keep(data)
            yield daemon, simulation
    finally:
        simulation.close()


def _only_volunteers(daemon) -> None:
    def change() -> None:
        ops = daemon.core.operators
        for name in ("Anna", "Boris"):
            ops.logout(name, daemon.clock.wall())
        for name in ("Vera", "Gleb"):
            ops.login(name, f"phone:{name}", daemon.clock.wall())
            ops.get(name).retry_after = 0.0

    on_loop(daemon, change)  # the core is the loop's: changed between two of its items, not beside them


def _record(daemon, call_id: str) -> dict:
    return wait_until(lambda: (r := CallLog(daemon.store.path).call(call_id)) and r["ended_at"] and r, 10,
                      "the finished record")


@pytest.mark.slow  # the daemon makes its prompts first; the calls take ~10 s of real audio
def test_the_caller_hears_the_box_music_and_talks_to_the_operator_through_the_box(box):
    daemon, simulation = box
    caller_modem, leg_modem = simulation.emulators["gsm1"], simulation.emulators["gsm2"]
    caller, operator = caller_modem.voice_port, leg_modem.voice_port
    for emulator in (caller_modem, leg_modem):
        emulator.script.phones.update({VERA: "decline", GLEB: "accept"})
    wait_until(lambda: all(line["state"] == "up" for line in loop_status(daemon)["lines"]), 20, "both lines up")
    _only_volunteers(daemon)

    assert caller_modem.incoming_call("+79165550101")
    wait_until(lambda: leg_modem.count(f"ATD{VERA}"), 20, "Vera dialled on the free line")
    mark = len(caller.heard)
    whisper = daemon.prompts["whisper.legal"].read_bytes()
    assert operator.wait(lambda p: whisper[:1600] in p.heard, 10), "Vera hears the whisper"
    wait_until(lambda: leg_modem.count(f"ATD{GLEB}"), 20, "Gleb dialled after Vera declined")
    leg_mark = len(operator.heard)
    assert operator.wait(lambda p: whisper[:1600] in p.heard[leg_mark:], 10), "Gleb hears the whisper"
    music = heard_since(caller, mark)
    assert len(music) > 3200 and any(music), "the caller hears the box's music meanwhile, not silence"
    assert caller_modem.count("AT+CHLD") == 0, "the caller is never put on the network's hold"

    call = wait_until(lambda: (c := daemon.core.line_calls["gsm1"]) and c.connected_at and c, 10, "Gleb to accept")
    assert (call.operator, call.handset) == ("Gleb", "phone:Gleb")
    # the audio, both ways, through the box; a supervisor listening in the browser hears both sides
    listened = Listened(control.call(daemon.control_path, "call.listen", call=call.id))
    mark = len(operator.heard)
    caller.caller_says(tone(1000, 1.5))
    assert operator.wait(lambda p: share(bytes(p.heard[mark:])[-4000:], 1000) > 0.5, 10), \
        "Gleb hears the caller's tone"
    mark = len(caller.heard)
    operator.caller_says(tone(1700, 1.5))
    assert caller.wait(lambda p: share(bytes(p.heard[mark:])[-4000:], 1700) > 0.5, 10), \
        "the caller hears Gleb's tone"

    assert listened.wait(lambda pcm: best(pcm, 1000) > 0.5 and best(pcm, 1700) > 0.5, 10), \
        "the supervisor hears the caller and the operator"
    listened.close()
    mark = len(caller.heard)
    leg_modem.remote_hangup()  # Gleb puts his phone down: the flow's next step, the legal route's survey
    survey = daemon.prompts["survey"].read_bytes()
    assert caller.wait(lambda p: survey[:1600] in p.heard[mark:], 10), "the caller is asked the survey"
    caller_modem.remote_hangup()
    record = _record(daemon, call.id)
    steps = [(e["event"], e["detail"]) for e in record["events"]]
    assert ("DIALOPERATOR", "Vera, free line gsm2") in steps and ("RINGNOANSWER", "declined with 2") in steps
    assert ("JOINED", "bridged with free line gsm2") in steps and ("COMPLETEAGENT", None) in [
        (e["event"], e["detail"]) for e in record["events"]]
    assert (record["operator"], record["handset"]) == ("Gleb", "phone:Gleb")


def _vera_takes_a_call(box, caller: str):
    """Both lines free and only the volunteers on duty, `caller` rings and Vera accepts on the free line:
    (the daemon, the caller's modem, Vera's leg's modem, the call)."""
    daemon, simulation = box
    caller_modem, leg_modem = simulation.emulators["gsm1"], simulation.emulators["gsm2"]
    wait_until(lambda: daemon.core.line_calls["gsm1"] is None and caller_modem.script.call == "idle"
               and leg_modem.script.call == "idle", 20, "both lines free")
    _only_volunteers(daemon)
    for emulator in (caller_modem, leg_modem):
        emulator.script.phones[VERA] = "accept"
    assert caller_modem.incoming_call(caller)
    call = wait_until(lambda: (c := daemon.core.line_calls["gsm1"]) and c.connected_at and c, 20, "Vera to accept")
    return daemon, caller_modem, leg_modem, call


@pytest.mark.slow
def test_the_caller_hanging_up_hangs_up_the_operators_leg(box):
    daemon, caller_modem, leg_modem, call = _vera_takes_a_call(box, "+79165550102")
    assert leg_modem.script.call == "active"
    caller_modem.remote_hangup()
    wait_until(lambda: leg_modem.script.call == "idle", 10, "the operator's leg hung up")
    record = _record(daemon, call.id)
    assert (record["operator"], record["outcome"], record["ended_by"]) == ("Vera", "completed", "caller")
    assert loop_status(daemon)["lines"][1]["call"] is None


@pytest.mark.slow
def test_the_operators_line_failing_puts_the_caller_back_on_the_queues_music(box):
    daemon, caller_modem, leg_modem, call = _vera_takes_a_call(box, "+79165550103")
    # no other way to her either: the caller's own line is as if its network refused hold
    refused = "the network refused to hold the caller (as if)"
    on_loop(daemon, lambda: daemon.core.queue.remote_refused.update(gsm1=refused))
    leg_modem.power_down(under_voltage=True)  # the operator's modem browns out mid-conversation
    wait_until(lambda: call.queued and call.handset is None, 10, "the caller back in the queue")
    assert ("FAILED", "Vera") not in [(e["event"], e["detail"]) for e in call.events]
    assert any(e["event"] == "FAILED" and "line gsm2 failed" in (e["detail"] or "") for e in call.events)
    mark = len(caller_modem.voice_port.heard)
    assert caller_modem.voice_port.wait(lambda p: any(p.heard[mark:]), 10), "the caller hears the music again"
    caller_modem.remote_hangup()
    record = _record(daemon, call.id)
    assert record["outcome"] == "abandoned"
    on_loop(daemon, lambda: daemon.core.queue.remote_refused.pop("gsm1"))
    leg_modem.power_on()
    wait_until(lambda: loop_status(daemon)["lines"][1]["state"] == "up", 30, "the operator's line back")
