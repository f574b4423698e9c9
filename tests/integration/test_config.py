"""The config document is checked as a whole, and every problem names its field."""

from __future__ import annotations

import copy
import subprocess
import sys

import tomli_w

from appliance import config as configuration


def write(tmp_path, document) -> str:
    path = tmp_path / "hotline.toml"
    path.write_text(tomli_w.dumps(document))
    return str(path)


def hotline(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance.cli", *args], capture_output=True, text=True, timeout=60)


def real_box() -> dict:
    """The built-in config as a real box would have it: a loopback port instead of the simulator."""
    document = copy.deepcopy(configuration.default_document())
    document["lines"][0]["port"] = "loop://"
    return document


def test_the_built_in_config_is_valid_for_simulation():
    cfg = configuration.parse(configuration.default_document(), simulated=True)
    assert [line.id for line in cfg.lines] == ["gsm1"]
    assert cfg.output_pins() == [5, 13, 17, 22]
    assert cfg.cadence == (1.0, 4.0)


def test_check_accepts_a_good_config(tmp_path):
    result = hotline("check", "--config", write(tmp_path, real_box()))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_check_lists_every_problem_with_its_field(tmp_path):
    document = real_box()
    document["lines"][0]["port"] = "/dev/ttyUSB-not-there"
    document["lines"][0]["dialect"] = "nokia3310"
    document["handsets"][1]["hook_pin"] = 17  # h1's ring relay
    document["flow"]["nodes"]["menu"]["prompt"] = "no_such_prompt"
    document["flow"]["nodes"]["menu"]["keys"]["3"] = "no_such_node"
    result = hotline("check", "--config", write(tmp_path, document))
    assert result.returncode == 1
    err = result.stderr
    assert "lines[0].port: /dev/ttyUSB-not-there does not exist" in err
    assert "lines[0].dialect: unknown dialect 'nokia3310'" in err
    assert "handsets[1].hook_pin: GPIO17 is already used by handsets[0].ring_pin" in err
    assert "flow.nodes.menu.prompt: names a missing prompt 'no_such_prompt'" in err
    assert "flow.nodes.menu.keys.3: names a missing node 'no_such_node'" in err


def test_run_refuses_a_bad_config_before_touching_anything(tmp_path):
    document = real_box()
    document["lines"][0]["port"] = "/dev/ttyUSB-not-there"
    data = tmp_path / "data"
    result = hotline("run", "--config", write(tmp_path, document), "--data", str(data))
    assert result.returncode == 1
    assert "lines[0].port" in result.stderr and "nothing started" in result.stderr
    assert not data.exists()


def test_broken_toml_and_missing_file_are_named(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[box\nname = 1")
    result = hotline("check", "--config", str(broken))
    assert result.returncode == 1 and "is not valid TOML" in result.stderr
    result = hotline("check", "--config", str(tmp_path / "absent.toml"))
    assert result.returncode == 1 and "no such file" in result.stderr


def test_sim_ports_outside_simulation_leave_the_line_down_with_a_warning():
    config, problems = configuration.check(configuration.default_document())
    assert config is not None
    assert any(p.field == "lines[0].port" and "simulate" in p.message and p.severity == "warning" for p in problems)


def test_devices_can_be_left_unchecked_for_an_image_build():
    document = real_box()
    document["lines"][0]["port"] = "/dev/serial0-absent-here"
    assert configuration.check(document)[0] is None
    assert configuration.check(document, check_devices=False)[0] is not None


def test_flow_problems_name_the_node():
    document = real_box()
    document["flow"]["nodes"]["orphan"] = {"type": "hangup"}
    document["flow"]["nodes"]["menu"]["keys"]["x"] = "bye"
    document["flow"]["nodes"]["busy"]["type"] = "teleport"
    document["flow"]["start"] = "nowhere"
    _, problems = configuration.check(document)
    fields = {p.field: p.message for p in problems}
    assert "flow.start" in fields
    assert "flow.nodes.menu.keys.x" in fields
    assert "unknown node type 'teleport'" in fields["flow.nodes.busy.type"]
    # Whole-graph checks run once every node parses.
    document["flow"]["start"] = "welcome"
    document["flow"]["nodes"]["busy"]["type"] = "play"
    del document["flow"]["nodes"]["menu"]["keys"]["x"]
    _, problems = configuration.check(document)
    assert any(p.field == "flow.nodes.orphan" and "unreachable" in p.message for p in problems)


def test_bad_pins_schedule_and_cadence_are_named():
    document = real_box()
    document["handsets"][0]["ring_pin"] = 99
    document["handsets"][0]["audio_pins"] = {"gsm9": 23}
    document["schedule"] = {"timezone": "Mars/Olympus", "hours": {"mon": ["18:00-09:00"]}}
    document["ringing"] = {"cadence": "custom", "custom": [1.0]}
    _, problems = configuration.check(document)
    fields = {p.field for p in problems}
    assert {"handsets[0].ring_pin", "handsets[0].audio_pins.gsm9", "schedule.timezone",
            "schedule.hours.mon[0]", "ringing.custom"} <= fields


def test_answering_settings_of_a_line_are_checked_by_name(tmp_path):
    document = real_box()
    document["lines"][0].update(answer_after_rings=0, call_waiting="hold")
    result = hotline("check", "--config", write(tmp_path, document))
    assert result.returncode == 1
    assert "lines[0].answer_after_rings: 0: a whole number of rings from 1 to 10" in result.stderr
    assert "lines[0].call_waiting: 'hold': use \"reject\"" in result.stderr
    for bad in (True, 2.5, "2", 11):
        document["lines"][0].update(answer_after_rings=bad, call_waiting="off")
        _, problems = configuration.check(document)
        assert [p.field for p in problems] == ["lines[0].answer_after_rings"], bad
    document["lines"][0].update(answer_after_rings=3, dialect="v253")
    line = configuration.parse(document).lines[0]
    assert (line.answer_after_rings, line.call_waiting) == (3, "off")
    del document["lines"][0]["answer_after_rings"], document["lines"][0]["call_waiting"]
    line = configuration.parse(document).lines[0]
    assert (line.answer_after_rings, line.call_waiting) == (None, "reject")  # None: 2 on V.253, 1 on GSM
