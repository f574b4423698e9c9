"""Fixtures shared by tests/unit, tests/integration and tests/system; helpers they share are in tests/support.

This machine (a container) has no NTP of its own, so the daemon would see "clock not set": the box under test
has a synchronised clock unless a test says otherwise (tests of the unset clock point HOTLINE_TIMESYNC_FILE at
a file of their own, tests/integration/test_clock.py).
"""

from __future__ import annotations

import contextlib
import logging
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


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """A test that runs a `hotline` command in-process (cli.main sets the root logger up as the real command does:
    a handler on the stderr of that moment, level INFO) leaves no handler behind. One left behind wrote every later
    test's log lines into a capture stream closed with its test ("Logging error ... I/O operation on closed file",
    test_restore's `hotline check` in CI's log), and at INFO, for the rest of that worker's run."""
    root = logging.getLogger()
    handlers, level = set(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers and type(handler).__module__ != "_pytest.logging":  # pytest's own come and go
            root.removeHandler(handler)
    root.setLevel(level)


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
