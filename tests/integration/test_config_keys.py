"""A misspelt key is refused where it stands, with the nearest known key, by `hotline check`
(tests/system/test_web_config_keys.py: the web page).

The box used to ignore a key it did not know: `baud_rate = 9600` left the line at 115200 and nothing said so.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import tomli_w

from appliance import config as configuration

REPO = Path(__file__).resolve().parents[2]


def hotline_check(tmp_path: Path, document: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "hotline.toml"
    path.write_text(tomli_w.dumps(document))
    return subprocess.run([sys.executable, "-m", "appliance.cli", "check", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)


def two_lines() -> dict:
    """The shipped config on a real box with a second modem."""
    document = copy.deepcopy(configuration.default_document())
    document["lines"][0]["port"] = "loop://"
    document["lines"].append(dict(document["lines"][0], id="gsm2"))
    return document


def test_check_refuses_a_misspelt_key_in_a_line_naming_it_and_the_nearest_known(tmp_path):
    document = two_lines()
    document["lines"][1]["baud_rate"] = 9600
    result = hotline_check(tmp_path, document)
    assert result.returncode == 1
    assert "error: lines[1].baud_rate: unknown key; did you mean baudrate?" in result.stderr
    assert "nothing started" in result.stderr


def test_check_refuses_unknown_keys_at_every_depth(tmp_path):
    document = two_lines()
    document["handsets"][0]["ring_pn"] = 4
    document["flow"]["nodes"]["menu"]["promt"] = "main_menu"
    document["queue"]["wait_txt_ru"] = "Ждите {m} мин."
    document["schedule"]["hours"] = {"mnday": ["09:00-18:00"]}
    document["webhook"] = [{"url": "https://crm.example.org/hook", "secret": "s" * 16}]
    errors = hotline_check(tmp_path, document).stderr
    assert "handsets[0].ring_pn: unknown key; did you mean ring_pin?" in errors
    # Reported once, by the one check of keys (the flow no longer says "unknown field" as well).
    assert errors.count("flow.nodes.menu.promt") == 1
    assert "flow.nodes.menu.promt: unknown key; did you mean prompt?" in errors
    assert "queue.wait_txt_ru: unknown key; did you mean wait_text_ru?" in errors
    # Nothing near: the keys that are known there are listed.
    assert "schedule.hours.mnday: unknown key; known here: fri, mon, sat, sun, thu, tue, wed" in errors
    assert "webhook: unknown key; did you mean webhooks?" in errors


def test_every_toml_example_in_the_docs_uses_known_keys():
    from appliance.config.keys import unknown_keys

    blocks = [block for page in [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]
              for block in re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.S)]
    assert blocks
    for block in blocks:
        assert unknown_keys(tomllib.loads(block)) == [], block
