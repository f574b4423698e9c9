"""The daemon's command line, read without argparse (appliance/cli: as_the_unit_runs_it), means what
build_parser() makes of the same words, or is left to build_parser()."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.cli import as_the_unit_runs_it, build_parser

REPO = Path(__file__).resolve().parents[2]

READ = [
    ["run", "--config", "/etc/hotline/hotline.toml", "--data", "/var/lib/hotline"],
    ["run", "--data", "d", "--config", "c.toml"],
    ["run", "--config", "c.toml"],
    ["-v", "run", "--config", "c.toml", "--data", "d"],
    ["--verbose", "run", "--config", "c.toml"],
]
LEFT_TO_ARGPARSE = [
    ["run"], ["run", "--config"], ["run", "--data", "d"], ["run", "--config=c.toml"], ["run", "--conf", "c.toml"],
    ["run", "--config", "a", "--config", "b"], ["run", "--config", "c.toml", "-v"], ["run", "--help"],
    ["run", "--config", "-x"], ["run", "--config", "c.toml", "--data"], ["web", "--data", "d"], [], ["-v"],
    ["run", "--config", "c.toml", "extra"],
]


@pytest.mark.parametrize("argv", READ)
def test_the_units_command_line_means_what_argparse_makes_of_it(argv):
    assert vars(as_the_unit_runs_it(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", LEFT_TO_ARGPARSE)
def test_every_other_form_is_left_to_argparse(argv):
    assert as_the_unit_runs_it(argv) is None


def test_the_shipped_unit_is_read_without_argparse():
    exec_start = re.search(r"^ExecStart=\S+ (.*)$", (REPO / "systemd/hotline.service").read_text(), re.M)[1]
    assert as_the_unit_runs_it(exec_start.split()) is not None
