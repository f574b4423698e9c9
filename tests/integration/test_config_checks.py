"""One check per kind of value: `hotline check` refuses what the daemon would refuse at start, and the
config, the handset drivers and the docs hold the same limits for a GPIO pin and a ring cadence."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from appliance import config as configuration
from appliance.config.handset_rules import check_cadence, gpio_pin

REPO = Path(__file__).resolve().parents[2]


def hotline_check(tmp_path: Path, document: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "hotline.toml"
    path.write_text(tomli_w.dumps(document))
    return subprocess.run([sys.executable, "-m", "appliance.cli", "check", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)


def real_box() -> dict:
    document = copy.deepcopy(configuration.default_document())
    document["lines"][0]["port"] = "loop://"
    return document


def slic_box() -> dict:
    """The shipped box with its second desk phone on a SLIC instead of relays."""
    document = real_box()
    document["handsets"][1] = {"id": "h2", "name": "Desk 2", "operator": "Boris", "kind": "slic",
                               "ring_mode_pin": 5, "fr_pin": 6, "hook_pin": 26, "audio_pins": {"gsm1": 13},
                               "skills": ["psychology", "general"]}
    return document


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"ring_hz": 200}, "handsets[1].ring_hz", "must be a number from 15 to 60"),
    ({"bounce_time": 5}, "handsets[1].bounce_time", "must be seconds from 0 to 1"),
    ({"active_low": "yes"}, "handsets[1].active_low", "must be true or false"),
    ({"audio_pins": {}}, "handsets[1].audio_pins", "needs an audio relay for at least one line"),
])
def test_check_refuses_a_handset_the_daemon_could_not_build(tmp_path, change, field, words):
    # These used to pass `hotline check` and stop `hotline run` at start with a traceback.
    document = slic_box()
    document["handsets"][1].update(change)
    result = hotline_check(tmp_path, document)
    assert result.returncode == 1, result.stdout
    assert f"error: {field}: {words}" in result.stderr


def test_a_slic_box_with_good_values_passes(tmp_path):
    result = hotline_check(tmp_path, slic_box())
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("pin", [28, 53, "GPIO28", "J8:40", -1, True, 4.0])
def test_a_pin_off_the_pi_header_is_refused_by_the_config_and_the_driver(pin):
    words = "is not a GPIO pin: use a BCM number 0-27"
    document = real_box()
    document["handsets"][0]["ring_pin"] = pin
    _config, problems = configuration.check(document)
    assert [p.field for p in problems if words in p.message] == ["handsets[0].ring_pin"]
    with pytest.raises(ValueError, match=words):
        gpio_pin(pin)


def test_a_pin_named_two_ways_is_one_pin():
    assert [gpio_pin(p) for p in (17, "GPIO17", "bcm17", 0, 27)] == [17, 17, 17, 0, 27]
    document = real_box()
    document["handsets"][0]["audio_pins"] = {"gsm1": "GPIO17"}  # the same pin as its ring relay
    _config, problems = configuration.check(document)
    assert "error: handsets[0].audio_pins.gsm1: GPIO17 is already used by handsets[0].ring_pin" in map(str, problems)


@pytest.mark.parametrize(("custom", "good"), [
    ([0.05, 30], True), ([0.4, 0.2, 0.4, 2.0], True),
    ([0.04, 1.0], False), ([1.0, 31], False), ([1.0, 60], False), ([1.0], False), ([1.0, True], False),
])
def test_the_config_and_the_ringer_take_the_same_cadences(custom, good):
    document = real_box()
    document["ringing"] = {"cadence": "custom", "custom": custom}
    config, problems = configuration.check(document)
    assert (config is not None) == good, problems
    try:
        check_cadence(custom)
        taken = True
    except ValueError as exc:
        taken = False
        assert [str(p) for p in problems if p.field == "ringing.custom"] == [f"error: ringing.custom: {exc}"]
    assert taken == good


def test_the_docs_give_the_limits_the_checks_hold():
    handsets = (REPO / "docs" / "handsets.md").read_text(encoding="utf-8")
    cadence = re.search(r"each part from ([\d.]+) to ([\d.]+) s", handsets)
    assert cadence and (float(cadence[1]), float(cadence[2])) == (0.05, 30.0)
    assert "0-27" in handsets and "0-53" not in handsets
    check_cadence([0.05, 30.0])


def test_the_config_loads_without_the_gpio_library():
    # install.sh runs the firmware tool (which loads the config) with the system Python, where gpiozero is not
    # installed: the config's checks must not pull the handset drivers in.
    code = "import sys, appliance.config; print(sorted(m for m in sys.modules if m.startswith('gpiozero')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
