"""Which config `hotline run` starts with: the web page's last applied one, unless it is bad.

The web page keeps the config it applied as <data>/config.toml, and every revision in web.db. A saved
config that is garbage, empty or invalid (a power cut, a full disk, a hand edit) must not keep the box
off the phone while a good config is at hand: the newest good revision takes its place, or else the
--config file, and an alarm says which and why.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
import tomllib
from pathlib import Path

from appliance.core.lean import lean

from ..files import atomic_write
from . import document as configuration

log = logging.getLogger(__name__)

REVISIONS_TRIED = 20  # the newest ones: older revisions are unlikely to suit the box any better


@lean
class Choice:
    path: Path  # the file the running config came from (what SIGHUP reads again)
    config: configuration.Config | None  # None: the --config file is to be loaded as usual
    alarm: str | None = None


def choose(given: Path, data: Path, now: float) -> Choice:
    saved = data / "config.toml"
    if not saved.exists() or (given.exists() and saved.stat().st_mtime <= given.stat().st_mtime):
        return Choice(given, None)  # editing the --config file by hand wins over an older saved one
    try:
        config = configuration.load(saved, check_devices=False)
    except configuration.ConfigError as exc:
        problem = "; ".join(str(p) for p in exc.problems)
    else:
        # The web page's last applied config wins over an older file.
        log.info("using %s, applied from the web page (newer than %s)", saved, given)
        return Choice(saved, config)
    aside = saved.with_name(f"config.toml.bad-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}")
    saved.replace(aside)  # kept for whoever wants to see what went wrong; never read again
    found = _newest_good_revision(data / "web.db")
    if found is not None:
        number, text, config = found
        atomic_write(saved, text, mode=0o640)
        return Choice(saved, config, f"the saved config {saved} was unusable ({problem}); it was moved aside "
                                     f"as {aside.name} and revision {number} of the web page's config history "
                                     "is running instead")
    return Choice(given, None, f"the saved config {saved} was unusable ({problem}); it was moved aside as "
                               f"{aside.name} and {given} is running instead")


def _newest_good_revision(web_db: Path) -> tuple[int, str, configuration.Config] | None:
    if not web_db.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{web_db}?mode=ro", uri=True, timeout=5)) as conn:
            rows = conn.execute("SELECT id, toml FROM revisions ORDER BY id DESC LIMIT ?",
                                [REVISIONS_TRIED]).fetchall()
    except sqlite3.Error as exc:
        log.warning("the config revisions in %s cannot be read: %s", web_db, exc)
        return None
    for number, text in rows:
        try:
            return number, text, configuration.parse(tomllib.loads(text), check_devices=False)
        except (configuration.ConfigError, ValueError, TypeError):
            continue
    return None
