"""One bad prompt no longer keeps the box off the phone: a tone and an alarm instead; damaged caches are remade."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from appliance import config as configuration
from appliance.audio.tones import tone
from tests.support.boxes import simulated_box
from tests.support.status import loop_status


def document(greeting: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(configuration.default_document())
    doc["prompts"] = {name: dict(spec, text="Hi.") for name, spec in doc["prompts"].items()}
    doc["prompts"]["greeting"] = greeting
    return doc


@pytest.mark.parametrize("upload", [None, b"RIFF\x24\x00\x00\x00WAVEfmt ", b"\x00" * 64],
                         ids=["missing", "truncated", "garbage"])
def test_a_bad_uploaded_prompt_is_a_tone_and_an_alarm_and_the_box_answers(tmp_path: Path,
                                                                           upload: bytes | None) -> None:
    data = tmp_path / "data"
    (data / "uploads").mkdir(parents=True)
    if upload is not None:
        (data / "uploads/greeting-hello.wav").write_bytes(upload)
    with simulated_box(data, document({"file": "greeting-hello.wav"})) as (daemon, _):
        status = loop_status(daemon)
        assert [line["state"] for line in status["lines"]] == ["up"]
        alarms = {a["id"]: a for a in status["alarms"]}
        assert list(alarms) == ["prompt.greeting"], alarms
        text = alarms["prompt.greeting"]["text"]
        assert "the recording 'greeting-hello.wav' is missing or cannot be played" in text
        assert "callers hear a short tone instead" in text
        assert daemon.prompts["greeting"] == tone("beep", daemon.config.country)


def test_a_damaged_cached_prompt_is_made_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    doc = document({"text": "Hello, you have reached the helpline.", "lang": "en"})
    with simulated_box(data, doc) as (daemon, _):
        spoken = daemon.prompts["greeting"].read_bytes()
    cached = next(p for p in (data / "prompts").glob("tts-*.raw") if p.read_bytes() == spoken)
    cached.write_bytes(spoken[: len(spoken) // 2 + 1])  # a power cut while it was written, or a bad card
    with simulated_box(data, doc) as (daemon, _):
        assert loop_status(daemon)["alarms"] == []
        assert daemon.prompts["greeting"].read_bytes() == spoken  # the whole prompt, spoken again
    assert cached.read_bytes() == spoken
