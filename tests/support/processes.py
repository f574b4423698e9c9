"""Stopping the processes a test started (`hotline run`, `hotline simulate`, nginx, mosquitto) so none outlives it.

A teardown that only waited (`communicate(timeout=…)`) and gave up on TimeoutExpired left the daemon running,
eating CPU for the rest of the run and slowing every later test into its own timeouts.
"""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def stop(proc: subprocess.Popen, timeout: float, sig: int = signal.SIGTERM) -> tuple[Any, Any]:
    """Send `sig` (if it still runs) and wait up to `timeout` s for the exit; (stdout, stderr) as communicate().

    One still running then is killed, and AssertionError says so with its output: the test fails as it did
    before, but leaves nothing behind."""
    if proc.poll() is None:
        proc.send_signal(sig)
    return finish(proc, timeout, f"after signal {signal.Signals(sig).name}")


def finish(proc: subprocess.Popen, timeout: float, why: str = "") -> tuple[Any, Any]:
    """Wait up to `timeout` s for the exit it is expected to make by itself; killed (AssertionError) if it did not."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"{_name(proc)} did not exit within {timeout:g} s {why}; killed. "
                             f"Its output:\n{out or ''}{err or ''}") from None


def _name(proc: subprocess.Popen) -> str:
    args = proc.args if isinstance(proc.args, list | tuple) else [proc.args]
    return " ".join(str(a) for a in args[:4])
