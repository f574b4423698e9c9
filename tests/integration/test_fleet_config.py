"""[fleet]: the broker a box shares its status through (docs/fleet.md); every problem names its key."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import tomli_w

from appliance import config as configuration


def document(**fleet) -> dict:
    doc = copy.deepcopy(configuration.default_document())
    doc["fleet"] = {"box": "office-1", **fleet}
    return doc


def problems(**fleet) -> dict[str, str]:
    config, found = configuration.check(document(**fleet), simulated=True)
    errors = {p.field: p.message for p in found if p.severity == "error"}
    assert (config is None) == bool(errors)
    return errors


def test_a_tls_broker_with_credentials_and_a_ca_is_taken(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config = configuration.parse(document(broker="mqtts://broker.example.org", username="box", password="pw",
                                          ca_file=str(ca)), simulated=True)
    assert (config.fleet.host, config.fleet.port, config.fleet.tls) == ("broker.example.org", 8883, True)
    assert config.fleet.share_callers is False  # nothing about callers leaves the box unless asked for
    assert configuration.parse(configuration.default_document(), simulated=True).fleet is None


@pytest.mark.parametrize("broker", ["mqtt://127.0.0.1", "mqtt://localhost:1884"])
def test_plain_mqtt_is_taken_for_a_broker_on_the_box_itself(broker):
    assert problems(broker=broker) == {}


def test_plain_mqtt_to_another_host_is_refused_unless_allowed():
    assert "use mqtts://" in problems(broker="mqtt://192.0.2.7")["fleet.broker"]
    assert problems(broker="mqtt://192.0.2.7", allow_plain=True) == {}


@pytest.mark.parametrize(("fleet", "key", "words"), [
    ({"broker": "https://broker"}, "fleet.broker", "mqtts:// or mqtt://"),
    ({"broker": "mqtts://broker:99999"}, "fleet.broker", "port"),
    ({"broker": "mqtts://user:pw@broker"}, "fleet.broker", "username and password"),
    ({"broker": "mqtts://broker", "box": "Office 1"}, "fleet.box", "lowercase"),
    ({"broker": "mqtts://broker", "username": "box"}, "fleet.password", "go together"),
    ({"broker": "mqtts://broker", "ca_file": "/nonexistent/ca.pem"}, "fleet.ca_file", "no such file"),
    ({"broker": "mqtts://broker", "keepalive": 0}, "fleet.keepalive", "seconds from 1"),
    ({"broker": "mqtts://broker", "queue": 2.5}, "fleet.queue", "whole number"),
    ({"broker": "mqtts://broker", "brokr": "x"}, "fleet.brokr", "did you mean broker"),
])
def test_a_bad_fleet_value_is_refused_naming_its_key(fleet, key, words):
    assert words in problems(**fleet)[key]


def test_hotline_check_names_a_plain_broker_elsewhere_and_starts_nothing(tmp_path):
    doc = document(broker="mqtt://192.0.2.7")
    doc["lines"][0]["port"] = "loop://"
    path = tmp_path / "hotline.toml"
    path.write_text(tomli_w.dumps(doc))
    result = subprocess.run([sys.executable, "-m", "appliance.cli", "check", "--config", str(path), "--no-hardware",
                             "--data", str(tmp_path / "data")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "fleet.broker: 'mqtt://192.0.2.7' is plain MQTT to another host" in result.stderr


def line_problems(**line) -> dict[str, str]:
    doc = copy.deepcopy(configuration.default_document())
    doc["lines"][0].update(line)
    _, found = configuration.check(doc, simulated=True)
    return {p.field: p.message for p in found if p.severity == "error"}


def test_forwarding_to_a_sibling_switches_call_waiting_off():
    doc = copy.deepcopy(configuration.default_document())
    doc["lines"][0]["forward_to"] = "+79169990002"
    line = configuration.parse(doc, simulated=True).lines[0]
    assert (line.forward_to, line.forward_on, line.forward_after, line.call_waiting) == (
        "+79169990002", ("busy", "no_reply", "not_reachable"), 20, "off")


@pytest.mark.parametrize(("line", "key", "words"), [
    ({"forward_to": "sibling"}, "lines[0].forward_to", "not a phone number"),
    ({"forward_to": "+79169990002", "forward_on": ["busy", "always"]}, "lines[0].forward_on", "a list of busy"),
    ({"forward_to": "+79169990002", "forward_after": 7}, "lines[0].forward_after", "5, 10, 15"),
    ({"forward_to": "+79169990002", "call_waiting": "reject"}, "lines[0].call_waiting", "needs call_waiting"),
    ({"forward_to": "+79169990002", "dialect": "v253"}, "lines[0].forward_to", "analogue"),
])
def test_a_bad_forwarding_value_is_refused_naming_its_key(line, key, words):
    assert words in line_problems(**line)[key]


def test_the_numbers_and_the_wait_before_moving_a_caller_are_checked_naming_the_key():
    config = configuration.parse(document(broker="mqtt://127.0.0.1", numbers=["+79169990001", "89169990001"],
                                          move_after=45), simulated=True)
    assert config.fleet.numbers == ("+79169990001", "89169990001") and config.fleet.move_after == 45
    assert configuration.parse(document(broker="mqtt://127.0.0.1"), simulated=True).fleet.move_after == 0  # never
    assert "fleet.numbers" in problems(broker="mqtt://127.0.0.1", numbers="+79169990001")  # a list, not one number
    assert "fleet.numbers" in problems(broker="mqtt://127.0.0.1", numbers=["office-b"])
    assert problems(broker="mqtt://127.0.0.1", move_after=-5) == {
        "fleet.move_after": "must be seconds from 0 to 3600"}
    assert "fleet.move_aftr" in problems(broker="mqtt://127.0.0.1", move_aftr=45)  # a misspelt key is refused
