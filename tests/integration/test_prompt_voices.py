"""A text prompt in a chosen voice: made by that voice where it can speak, by espeak-ng where it cannot."""

from __future__ import annotations

import logging

import pytest

from appliance import config as configuration
from appliance.audio.prompts import PromptLibrary


def test_a_voice_this_box_cannot_speak_with_falls_back_to_espeak_ng(tmp_path, caplog) -> None:
    library = PromptLibrary(tmp_path / "prompts")
    plain = library.from_text("Hello, you have reached the helpline.", "en")
    with caplog.at_level(logging.WARNING):
        chosen = library.from_text("Hello, you have reached the helpline.", "en", "piper:en_US-lessac-medium")
    assert chosen.read_bytes() == plain.read_bytes()
    assert "voice piper:en_US-lessac-medium cannot speak here" in caplog.text


def test_a_voice_that_can_speak_makes_the_prompt_itself(tmp_path) -> None:
    library = PromptLibrary(tmp_path / "prompts")
    espeak_ru = library.from_text("Здравствуйте", "ru", "espeak-ng:ru")
    english_voice = library.from_text("Здравствуйте", "ru", "espeak-ng:en")
    assert espeak_ru != english_voice and english_voice.stat().st_size > 0  # the chosen voice, not the language's


def test_a_prompts_voice_must_name_one(tmp_path) -> None:
    document = configuration.default_document()
    name = next(iter(document["prompts"]))
    document["prompts"][name]["voice"] = "festival:kal"
    with pytest.raises(configuration.ConfigError, match=f"prompts.{name}.voice"):
        configuration.parse(document, simulated=True)
    document["prompts"][name]["voice"] = "rhvoice:anna"
    assert configuration.parse(document, simulated=True).prompts[name].voice == "rhvoice:anna"
