"""What `hotline web` loads, started as its unit starts it: an idle web process (the login page and an unsigned
dashboard poll served, as the bench weighs it) holds neither the config model nor the core it checks against,
nor systemd-python for its log (plain lines with their priority on stderr, which journald reads), and every page
still answers, in English and in Russian, once what it needs has loaded with its first request. After the install's
step that compiles the templates (web/template_cache.py), not even a first start on an empty data directory compiles
one: what Jinja compiles it keeps in DATA/web-templates, and that stays empty through the walk.

Which modules a process imported is read from outside, from the interpreter's own import log on stderr
(PYTHONPROFILEIMPORTTIME=1: one line per module, the first time it is imported).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.waiting import free_port, wait_until
from tests.support.web_walk import Browser
from web.store import WebStore

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"  # noqa: S105 - a throwaway box's
# Loaded with the first page that needs them (web/configure.py, web/alerts.py, web/backup.py, web/speech.py),
# never when idle.
DEFERRED = ("appliance.config", "appliance.config.model", "appliance.core.events", "appliance.core.queue",
            "web.forms", "web.flowtree", "web.calendar_days", "appliance.speech.models", "appliance.speech.voices")
# Loaded with a backup made or restored (web/backup_pages.py), which no page's GET does.
ON_USE = ("web.backup", "tarfile", "gzip", "appliance.records.store.call_log")


def _unit_environment(prefix: Path) -> dict[str, str]:
    """hotline-web.service's Environment=, its bytecode prefix (/opt/hotline/pycache on a box) moved to `prefix`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    for line in (REPO / "systemd/hotline-web.service").read_text().splitlines():
        if line.startswith("Environment="):
            for assignment in line.removeprefix("Environment=").split():
                key, _, value = assignment.partition("=")
                env[key] = value
    assert env.get("PYTHONPYCACHEPREFIX") == "/opt/hotline/pycache", env
    return {**env, "PYTHONPYCACHEPREFIX": str(prefix)}


def _imported(log: Path) -> set[str]:
    return set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)$", log.read_text(), re.MULTILINE))


def test_an_idle_web_process_holds_no_config_model_and_every_page_loads_what_it_needs(start_box, tmp_path):
    start_box()  # the daemon whose control socket (data/control.sock) the pages ask
    data = tmp_path / "data"
    store = WebStore(data / "web.db")
    store.add_user("admin", PASSWORD, "admin", "en")
    store.add_user("админ", PASSWORD, "admin", "ru")
    log = tmp_path / "imports.log"
    port = free_port()
    prefix = tmp_path / "pycache"
    # the install's step for the templates, as appliance/ops/bytecode.py runs it (the rest of that step, every
    # module's bytecode, takes a minute: here the web compiles what it imports into the prefix as it starts)
    subprocess.run([sys.executable, "-OO", "-m", "web.template_cache", str(prefix)], cwd="/", check=True,
                   env={**_unit_environment(prefix), "PYTHONDONTWRITEBYTECODE": "1"}, stdout=subprocess.DEVNULL)
    # INVOCATION_ID: systemd's mark of a process it started (appliance/service/notify.py under_systemd)
    env = {**_unit_environment(prefix), "PYTHONPROFILEIMPORTTIME": "1", "INVOCATION_ID": "0123456789abcdef" * 2}
    assert env["PYTHONOPTIMIZE"] == "2"
    with open(log, "w") as stderr:
        web = subprocess.Popen([sys.executable, "-m", "appliance.cli", "web", "--data", str(data), "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=stderr, cwd=data)
    try:
        visitor = Browser(port)

        def answers() -> bool:
            assert web.poll() is None, log.read_text()[-2000:]
            try:
                return visitor.request("GET", "/api/dashboard")[0] == 401
            except OSError:
                return False

        wait_until(answers, timeout=60, what="hotline web")
        assert visitor.request("GET", "/login")[0] == 200
        idle = _imported(log)
        assert "web.configure" in idle and "flask" in idle  # the log is read: the app and its routes are there
        assert not idle & {*DEFERRED, *ON_USE}, sorted(idle & {*DEFERRED, *ON_USE})
        assert "ctypes" not in idle  # the unit's MALLOC_ARENA_MAX=1 does what web/store.py would call glibc for
        assert "systemd.journal" not in idle
        assert "argparse" not in idle  # its unit's command line is read without it (cli.as_the_unit_runs_it)
        # the unit names the time zones' path (PYTHONTZPATH): zoneinfo does not build sysconfig's table for it
        assert not {name for name in idle if name.startswith("_sysconfigdata")}
        assert "<6>hotline.web: API token in " in log.read_text()  # the journal's priority 6, info
        compiled = data / "web-templates"  # what the process compiled itself: none, the install did
        assert compiled.is_dir() and not any(compiled.iterdir()), sorted(compiled.iterdir())
        for username, lang in (("админ", "ru"), ("admin", "en")):  # Russian first: it meets the lazy imports
            browser = Browser(port)
            browser.sign_in(username, PASSWORD)
            for page, status, body, _seconds in browser.walk():
                assert status in (200, 302), (lang, page, status, body[:300])
                if status == 200 and body.startswith("<!doctype html>"):
                    assert f'<html lang="{lang}">' in body, (lang, page)
        assert set(DEFERRED) <= _imported(log)  # the walk reached every deferred import
        assert not any(compiled.iterdir()), sorted(compiled.iterdir())  # every page's templates came compiled
        assert web.poll() is None
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(20)
