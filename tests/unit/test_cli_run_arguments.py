"""The units' command lines (the daemon's and the web's), read without argparse (appliance/cli:
as_the_unit_runs_it), mean what build_parser() makes of the same words, or are left to build_parser()."""

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
    ["web", "--data", "/var/lib/hotline", "--host", "127.0.0.1", "--port", "8080", "--behind-tls-proxy"],
    ["web"], ["web", "--data", "d"], ["web", "--behind-tls-proxy", "--port", "80", "--host", "::1"],
    ["-v", "web", "--port", "08080"],
]
LEFT_TO_ARGPARSE = [
    ["run"], ["run", "--config"], ["run", "--data", "d"], ["run", "--config=c.toml"], ["run", "--conf", "c.toml"],
    ["run", "--config", "a", "--config", "b"], ["run", "--config", "c.toml", "-v"], ["run", "--help"],
    ["run", "--config", "-x"], ["run", "--config", "c.toml", "--data"], [], ["-v"],
    ["run", "--config", "c.toml", "extra"], ["web", "--port", "http"], ["web", "--port"], ["web", "--port=8080"],
    ["web", "--trusted-host", "hotline.example"], ["web", "--behind-tls-proxy", "--behind-tls-proxy"],
    ["web", "--host", "a", "--host", "b"], ["web", "--config", "c.toml"], ["web", "--help"], ["web", "--po", "80"],
    ["check", "--config", "c.toml"], ["web", "--data", "d", "run"],
]


@pytest.mark.parametrize("argv", READ)
def test_the_units_command_line_means_what_argparse_makes_of_it(argv):
    assert vars(as_the_unit_runs_it(argv)) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", LEFT_TO_ARGPARSE)
def test_every_other_form_is_left_to_argparse(argv):
    assert as_the_unit_runs_it(argv) is None


@pytest.mark.parametrize("unit", ["hotline.service", "hotline-web.service"])
def test_the_shipped_units_are_read_without_argparse(unit):
    exec_start = re.search(r"^ExecStart=\S+ (.*)$", (REPO / "systemd" / unit).read_text(), re.M)[1]
    assert vars(as_the_unit_runs_it(exec_start.split())) == vars(build_parser().parse_args(exec_start.split()))
