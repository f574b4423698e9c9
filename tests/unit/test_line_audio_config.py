"""[[lines]] audio and audio_port: which path carries a line's voice, refused with a clear word when wrong."""

from __future__ import annotations

import pytest

from appliance import config as configuration


def _problems(**line):
    document = configuration.default_document()
    document["lines"][0].update(port="/dev/ttyUSB2", **line)
    return [str(p) for p in configuration.check(document, check_devices=False)[1]]


def test_a_huawei_line_on_its_voice_port_parses():
    document = configuration.default_document()
    document["lines"][0].update(port="/dev/hotline/gsm1-at", dialect="huawei", audio="serial",
                                audio_port="/dev/hotline/gsm1-audio")
    line = configuration.parse(document, check_devices=False).lines[0]
    assert (line.audio, line.audio_port) == ("serial", "/dev/hotline/gsm1-audio")


def test_the_default_is_the_sound_card():
    line = configuration.parse(configuration.default_document(), simulated=True).lines[0]
    assert (line.audio, line.audio_port) == ("alsa", None)


@pytest.mark.parametrize(("line", "words"), [
    ({"audio": "usb"}, "lines[0].audio: 'usb': use \"alsa\""),
    ({"dialect": "huawei", "audio": "serial"}, "lines[0].audio_port: audio = \"serial\" needs the modem's voice port"),
    ({"dialect": "sim800", "audio": "serial", "audio_port": "/dev/ttyUSB3"}, "a sim800 modem has no serial voice path"),
    ({"dialect": "sim7600", "audio": "uac"}, "a sim7600 modem has no uac voice path; uac needs quectel"),
    ({"dialect": "huawei", "audio": "serial", "audio_port": "/dev/ttyUSB2"}, "is the line's AT port"),
    ({"dialect": "quectel", "audio": "serial", "audio_port": "ttyUSB1"}, "lines[0].audio_port: 'ttyUSB1' is not an"),
    ({"audio_port": "/dev/ttyUSB3"}, "warning: lines[0].audio_port: only used with audio = \"serial\""),
])
def test_a_wrong_line_audio_is_named(line, words):
    assert any(words in problem for problem in _problems(**line)), _problems(**line)


def test_a_missing_voice_port_is_named_when_devices_are_checked():
    document = configuration.default_document()
    document["lines"][0].update(port="loop://", dialect="huawei", audio="serial", audio_port="/dev/nonexistent-audio")
    problems = [str(p) for p in configuration.check(document)[1]]
    assert any("lines[0].audio_port: /dev/nonexistent-audio does not exist" in p for p in problems), problems
