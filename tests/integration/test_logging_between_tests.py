"""The suite's own fixtures: a test that sets logging up as a `hotline` command does leaves none of it behind.

cli.main (as test_restore runs `hotline check` in-process) puts a handler on the root logger that writes to the
stderr of that moment: in a test, a capture stream closed with the test. Left there, every later test in that
worker logged into it ("--- Logging error --- ... I/O operation on closed file" all over CI's log, 23 times in one
worker's run of tests/system) and at INFO level. tests/conftest.py's autouse fixture takes it away again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TWO_TESTS = '''
import logging

from appliance.service.notify import setup_logging


def test_one_that_sets_logging_up_as_a_command_does(capsys):
    setup_logging()  # what cli.main does first, for every command
    logging.getLogger("appliance.sim").warning("said in the first test")


def test_the_next_one_logs():
    logging.getLogger("appliance.records").warning("said in the next test")
    assert logging.getLogger().level == logging.WARNING, "the first test's INFO level is still on"
'''


def test_a_test_that_sets_logging_up_as_a_command_does_leaves_the_next_ones_logging_as_it_was(tmp_path):
    (tmp_path / "test_two.py").write_text(TWO_TESTS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-s", "-q", "-p", "tests.conftest", "-p", "no:randomly",
                           "-p", "no:cacheprovider", "-p", "no:xdist", str(tmp_path / "test_two.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Logging error" not in out and "I/O operation on closed file" not in out, out
