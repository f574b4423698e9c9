"""Shared test set-up: the box under test has a synchronised clock unless a test says otherwise.

This machine (a container) has no NTP of its own, so the daemon would see "clock not set"; tests of the
unset clock point HOTLINE_TIMESYNC_FILE at a file of their own (tests/integration/test_clock.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def pytest_configure(config) -> None:
    marker = Path(tempfile.mkdtemp(prefix="hotline-timesync-")) / "synchronized"
    marker.touch()
    os.environ["HOTLINE_TIMESYNC_FILE"] = str(marker)
