"""A recording's length is bounded while it is decoded, not taken from its header; messages name no paths;
a prompt's file is a name inside uploads/ (issue 15, finding 13 and the prompt-path point of "Info")."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from appliance import config as configuration
from appliance.audio.convert import to_line_format
from appliance.audio.prompts import PromptError, PromptLibrary

RATE = 8000


def lying_flac(tmp_path: Path, seconds: int) -> Path:
    """A FLAC of `seconds` of tone whose STREAMINFO says 0 samples ("unknown"): soxi reports 0 s."""
    path = tmp_path / "tone.flac"
    subprocess.run(["sox", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(path), "synth", str(seconds),
                    "sine", "440"], check=True)
    data = bytearray(path.read_bytes())
    data[21] &= 0xF0  # the top 4 bits of the 36-bit total-samples field ...
    data[22:26] = bytes(4)  # ... and the other 32
    path.write_bytes(data)
    assert subprocess.run(["soxi", "-D", str(path)], capture_output=True, text=True).stdout.strip() == "0.000000"
    return path


def test_decoding_stops_past_the_limit_whatever_the_header_says(tmp_path):
    src = lying_flac(tmp_path, 60)
    out = tmp_path / "line.raw"
    to_line_format(src, out, RATE, "upload 'tone.flac'", "flac", max_seconds=2)
    assert out.stat().st_size <= 3 * RATE * 2  # a second past the limit, not the minute the file holds
    with pytest.raises(PromptError, match=r"'tone.flac' lasts (\d+\.\d) s or more, more than the limit of 2 s") as e:
        PromptLibrary(tmp_path / "cache", max_seconds=2).from_upload(src.read_bytes(), "tone.flac")
    assert float(re.search(r"lasts (\d+\.\d)", str(e.value)).group(1)) <= 3.0


def test_a_refused_recording_names_no_path_on_the_box(tmp_path):
    broken = b"fLaC" + bytes(range(256)) * 8
    with pytest.raises(PromptError) as refused:
        PromptLibrary(tmp_path / "cache").from_upload(broken, "broken.flac")
    message = str(refused.value)
    assert "'broken.flac'" in message and "sox" in message
    assert str(tmp_path) not in message and ".work-" not in message and not re.search(r"/\w+/", message)


@pytest.mark.parametrize("file", ["/etc/shadow", "../web-secret", "uploads/../../privacy.key", ".hidden", ""])
def test_a_prompt_file_outside_the_uploads_is_a_config_error(file):
    document = configuration.default_document()
    document["prompts"]["greeting"] = {"file": file}
    with pytest.raises(configuration.ConfigError, match="prompts.greeting.file: .* must be the name of a recording"):
        configuration.parse(document)
    document["prompts"]["greeting"] = {"file": "greeting-hello_2.wav"}
    assert configuration.parse(document).prompts["greeting"].file == "greeting-hello_2.wav"
