"""Fixtures shared by tests/unit, tests/integration and tests/system; helpers they share are in tests/support.

This machine (a container) has no NTP of its own, so the daemon would see "clock not set": the box under test
has a synchronised clock unless a test says otherwise (tests of the unset clock point HOTLINE_TIMESYNC_FILE at
a file of their own, tests/integration/test_clock.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import prompt_seed
from tests.support.boxes import simulated_box
from tests.support.web import login, set_up
from web import create_app

_OWN_SEED = pytest.StashKey[str | None]()


def pytest_configure(config) -> None:
    marker = Path(tempfile.mkdtemp(prefix="hotline-timesync-")) / "synchronized"
    marker.touch()
    os.environ["HOTLINE_TIMESYNC_FILE"] = str(marker)
    config.stash[_OWN_SEED] = prompt_seed.start_run()


def pytest_unconfigure(config) -> None:
    own = config.stash.get(_OWN_SEED, None)
    if own is not None:
        shutil.rmtree(own, ignore_errors=True)


@pytest.fixture
def start_box(tmp_path) -> Iterator[Callable[..., tuple[Any, Any]]]:
    """Starts real daemons on simulated hardware, (daemon, simulation) each; all are stopped at the test's end.

    start_box(document=None, data=None, audio_device="null"): the default document and
    tmp_path/"data" unless given."""
    with contextlib.ExitStack() as running:
        def start(document: dict[str, Any] | None = None, data: Path | None = None, **options: Any):
            return running.enter_context(simulated_box(data or tmp_path / "data", document, **options))

        yield start


@pytest.fixture(scope="module")
def web_box(tmp_path_factory) -> Iterator[tuple[Any, Path]]:
    """A real daemon on the default document, (daemon, data directory), shared by one module's web tests."""
    data = tmp_path_factory.mktemp("box")
    with simulated_box(data) as (daemon, _):
        yield daemon, data


@pytest.fixture(scope="module")
def web_app(web_box):
    """The web app in front of `web_box`, its first admin set up (user admin, tests.support.web.PASSWORD)."""
    daemon, data = web_box
    app = create_app(data, control_path=daemon.control_path)
    assert set_up(app.test_client(), data).status_code == 302
    return app


@pytest.fixture
def admin(web_app):
    """A test client signed in to `web_app` as its admin."""
    client = web_app.test_client()
    assert login(client).status_code == 302
    return client
