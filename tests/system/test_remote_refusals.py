"""A network's refusal of hold or joining calls outlives a restart of the daemon, per line and SIM (issue 20 item
1): the real daemon on the pty emulator, stopped and started again on the same data directory; a swapped SIM
(another ICCID) starts clean, and `hotline check --hardware` forgets the refusals of the modems it asked."""

from __future__ import annotations

import re

import pytest

from appliance.ops.hwcheck import Finding, answering_lines
from appliance.service import refusals
from appliance.sim.simulation import Simulation
from tests.support import prompt_seed
from tests.support.boxes import running_daemon
from tests.support.status import loop_status
from tests.support.waiting import wait_until
from tests.support.web import set_up
from tests.system.test_remote_operators import VERA, remote_document
from tests.system.test_web_russian import english
from web import create_app


def _refused(daemon) -> str | None:
    return loop_status(daemon)["lines"][0]["remote_refused"]


def _line_up(daemon) -> bool:
    return loop_status(daemon)["lines"][0]["state"] == "up"


def _only_vera(daemon) -> None:
    ops = daemon.core.operators
    for name in ("Anna", "Boris", "Gleb"):
        ops.logout(name, daemon.clock.wall())
    ops.login("Vera", "phone:Vera", daemon.clock.wall())


@pytest.mark.slow  # three daemon starts on one data directory (~4 s each on a loaded machine)
def test_a_refusal_is_kept_across_a_restart_for_the_same_sim_and_forgotten_for_another(tmp_path):
    simulation = Simulation(remote_document())
    emulator = simulation.emulators["gsm1"]
    script = emulator.script
    script.phones[VERA] = "accept"
    script.conference = False
    prompt_seed.seed(tmp_path)
    try:
        with running_daemon(simulation, tmp_path) as daemon:
            _only_vera(daemon)
            script.refuse.add("hold")
            assert emulator.incoming_call("+79165550101")
            wait_until(lambda: _refused(daemon), 20, "the refusal to be noted")
            emulator.remote_hangup()
            wait_until(lambda: daemon.core.line_calls["gsm1"] is None, 10, "the call to end")
        script.refuse.discard("hold")  # the modem would hold now: only the remembered refusal stops the box

        with running_daemon(simulation, tmp_path) as daemon:
            wait_until(lambda: _line_up(daemon), 20, "the line to come up")
            assert "refused to hold" in (_refused(daemon) or "")
            # the operators page (a Russian admin's) still says the box does not hold callers there
            app = create_app(tmp_path, control_path=daemon.control_path)
            client = app.test_client()
            assert set_up(client, tmp_path, lang="ru").status_code == 302
            page = client.get("/operators").text
            assert 'class="flash warning remote-refused" data-line="gsm1"' in page
            assert "Абонентов на линии gsm1 не ставят на удержание" in page
            warning = re.search(r'<p class="flash warning remote-refused"[^>]*>(.*?)</p>', page, re.S)[1]
            assert not english(f"<p>{warning}</p>"), warning  # the network's refusal in Russian too
            _only_vera(daemon)
            holds, dials = emulator.count("AT+CHLD=2"), emulator.count(f"ATD{VERA}")
            assert emulator.incoming_call("+79165550102")
            wait_until(lambda: (c := daemon.core.line_calls["gsm1"]) is not None and c.queued, 20,
                       "the caller to wait in the queue")
            emulator.remote_hangup()
            wait_until(lambda: daemon.core.line_calls["gsm1"] is None, 10, "the call to end")
            assert (emulator.count("AT+CHLD=2"), emulator.count(f"ATD{VERA}")) == (holds, dials)

        script.network.iccid = "8970199000000000011"  # another SIM in the modem while the box was off
        with running_daemon(simulation, tmp_path) as daemon:
            wait_until(lambda: _line_up(daemon), 20, "the line to come up")
            assert _refused(daemon) is None
            _only_vera(daemon)
            assert emulator.incoming_call("+79165550103")
            wait_until(lambda: (c := daemon.core.line_calls["gsm1"]) is not None and c.connected_at is not None,
                       20, "Vera to take the caller on the new SIM")
            wait_until(lambda: script.conference, 10, "the conference")
            emulator.remote_hangup()
            wait_until(lambda: daemon.core.line_calls["gsm1"] is None, 10, "the call to end")
        assert refusals.load(tmp_path) == {}
    finally:
        simulation.close()


def test_hotline_check_hardware_forgets_the_refusals_of_the_modems_it_asked(tmp_path):
    refusals.save(tmp_path, {"gsm1": {"reason": "the network refused to hold the caller", "iccid": "1"},
                             "gsm2": {"reason": "the network refused to hold the caller", "iccid": "2"}})
    findings = [Finding("line gsm1 port", "/dev/hotline/gsm1", "answers AT (SIM800 R14.18)", True),
                Finding("line gsm1 voice port", "/dev/hotline/gsm1-audio", "answers AT (x): a command port", False),
                Finding("line gsm2 port", "/dev/hotline/gsm2", "busy: another program has it open", False)]
    assert answering_lines(findings) == ["gsm1"]
    assert refusals.forget(tmp_path, answering_lines(findings)) == ["gsm1"]
    assert list(refusals.load(tmp_path)) == ["gsm2"]  # a modem the check could not ask keeps its refusal
