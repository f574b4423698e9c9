"""The web process: its memory idle and after 100 sign-ins, and /api/dashboard under 20 clients at once.

    .venv/bin/python bench/web_process.py [--quick]

`hotline web` with the arguments of systemd/hotline-web.service's ExecStart (its data directory and port made
this run's), in a process of its own, next to a real `hotline run` (one line on a ModemEmulator, mock pins)
whose status the dashboard asks for. It runs as a box runs it (bench/boxenv.py): the interpreter of a venv made
by Debian's /usr/bin/python3 with the tree pip-installed (not editable, compiled), the web unit's environment
(PYTHONOPTIMIZE=2 from the compiled bytecode prefix), a working directory outside the tree. Only the sign-in
limits are raised in that process (web/signin.py: 20 a minute per address, 60 in all), since every sign-in
here comes from 127.0.0.1. What a box has and this does not: systemd, under which the log goes to the journal
through systemd-python (appliance/service/notify.py). Figures:

* idle resident memory: VmRSS two seconds after the login page was served: the first requests are an unsigned
  /api/dashboard (answered 401) while waiting for the server, then GET /login, as a browser meets the box. At a
  restart (the process stopped and started again on the same data directory, as every boot does), and at the
  first start, when the data directory's templates cache is still empty (the install's is read first: the box
  is built as install.sh builds it, web/template_cache.py);
* peak after 100 sign-ins (10 with --quick): VmHWM after them, one after another (each a fresh session: the login
  page for its CSRF token, then the form), each checking the password with scrypt in a helper process
  (web/passwords.py);
* /api/dashboard with 20 concurrent clients: 20 threads, each on its own keep-alive connection with the
  API token, asking back to back (50 times each; 10 with --quick) after a warm-up; median and p95 latency,
  and the web process's CPU time per request (utime + stime from /proc over the run: what the machine's
  load cannot inflate the way it inflates a latency);
* after a full walk: VmRSS and VmHWM once a signed-in admin has opened every page (tests/support/web_walk.py),
  so a page whose code loads with its first request (web/configure.py) is counted; and the time of each page's
  first visit against its second (the slowest first visits are printed);
* the same 20 clients against a bare Flask app on waitress (4 threads) that answers the same bytes with
  nothing else, in a process of its own on the same interpreter, in 5 rounds alternating with ours: the floor
  any Flask page has on this machine at this load.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import boxenv  # noqa: E402
from hotline_process import Hotline, write_box  # noqa: E402

from appliance.sim.emulator import ModemEmulator  # noqa: E402
from tests.support.waiting import free_port  # noqa: E402
from tests.support.web_walk import Browser  # noqa: E402

PASSWORD = "bench password 1"  # noqa: S105 - a throwaway box's
SERVE = """
import sys
from appliance.cli.no_openssl import without_openssl

with without_openssl():  # as `hotline web` imports it (appliance/cli/serve_web.py)
    from web import signin
for key in ("SIGNIN_LIMIT_GLOBAL", "SIGNIN_LIMIT_PER_CLIENT"):
    signin.LIMITS[key] = "100000 per minute"  # every sign-in of the bench comes from 127.0.0.1

from appliance.cli import main

sys.exit(main({argv!r}))
"""
# The peer: Flask and waitress alone, answering the dashboard's bytes.
BARE = """
import logging
from flask import Flask, Response
from waitress import serve

logging.getLogger("waitress.queue").setLevel(logging.ERROR)
app = Flask(__name__)
body = open({body!r}, "rb").read()
app.get("/api/dashboard")(lambda: Response(body, mimetype="application/json"))
serve(app, host="127.0.0.1", port={port}, threads=4)
"""


def web_argv(data: Path, port: int) -> list[str]:
    """`hotline web`'s arguments as hotline-web.service gives them, with this run's data directory and port."""
    line = next(line for line in (ROOT / "systemd/hotline-web.service").read_text().splitlines()
                if line.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))[1:]
    argv[argv.index("--data") + 1], argv[argv.index("--port") + 1] = str(data), str(port)
    return argv


def walk(port: int) -> dict[str, Any]:
    """Every page once and then again, signed in as the admin: each page's first and second time."""
    browser = Browser(port)
    browser.sign_in("admin", PASSWORD)
    first = {page: (status, seconds) for page, status, _, seconds in browser.walk()}
    failed = {page: status for page, (status, _) in first.items() if status not in (200, 302)}
    if failed:
        raise RuntimeError(f"pages answered {failed}")
    second = {page: seconds for page, _, _, seconds in browser.walk()}
    return {page: (seconds * 1000, second[page] * 1000) for page, (_, seconds) in first.items()}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(box: boxenv.Box, script: str, port: int, cwd: Path) -> subprocess.Popen:
    """A web process of the installed box on `port`, once it answers."""
    proc = subprocess.Popen([str(box.python), "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=boxenv.box_environment(dict(os.environ), "hotline-web.service", box), cwd=cwd)
    deadline = time.monotonic() + 60
    while True:
        try:
            if _get(port, "/api/dashboard")[0] in (200, 401):
                return proc
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("the web app did not start")
        time.sleep(0.1)


def _status(pid: int) -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM")}


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, reply.read(), dict(reply.getheaders())
    finally:
        conn.close()


def sign_in(port: int) -> None:
    """One sign-in as a browser does it: the login page (session cookie and CSRF token), then the form."""
    status, page, headers = _get(port, "/login")
    cookie = headers.get("Set-Cookie", "").split(";", 1)[0]
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    if status != 200 or token is None:
        raise RuntimeError(f"the login page answered {status}")
    body = f"username=admin&password={PASSWORD.replace(' ', '+')}&csrf_token={token.group(1).decode()}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/login", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        reply = conn.getresponse()
        reply.read()
        if reply.status != 302:
            raise RuntimeError(f"signing in answered {reply.status}")
    finally:
        conn.close()


def dashboard_latencies(port: int, token: str, clients: int, each: int) -> list[float]:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        try:
            for _ in range(each):
                began = time.perf_counter()
                conn.request("GET", "/api/dashboard", headers={"Authorization": f"Bearer {token}"})
                reply = conn.getresponse()
                reply.read()
                mine.append(time.perf_counter() - began)
                if reply.status != 200:
                    failures.append(str(reply.status))
        finally:
            conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"/api/dashboard answered {failures[:3]}")
    return latencies


def run(quick: bool = False) -> dict[str, Any]:
    from web.store import WebStore

    box = boxenv.box()
    with tempfile.TemporaryDirectory(prefix="hotline-web-bench-") as tmp:
        emulator = ModemEmulator("sim800")
        emulator.start()
        config, data = write_box(Path(tmp), {"gsm1": emulator.port})
        daemon = Hotline(config, data, Path(tmp) / "hotline.log")
        web: subprocess.Popen | None = None
        try:
            if daemon.start() is None:
                raise RuntimeError("hotline run did not become ready")
            WebStore(data / "web.db").add_user("admin", PASSWORD, "admin")
            port = free_port()
            idle_first = 0.0
            for start in ("first", "restart"):  # a first start on an empty data directory, then a restart
                if web is not None:
                    web.terminate()
                    web.wait(15)
                web = _serve(box, SERVE.format(argv=web_argv(data, port)), port, Path(tmp))
                if _get(port, "/login")[0] != 200:  # the page a user meets first, as figures before were taken
                    raise RuntimeError("the login page did not answer")
                time.sleep(2)
                idle = _status(web.pid)["VmRSS"]
                idle_first = idle if start == "first" else idle_first
            sign_ins = 10 if quick else 100
            for _ in range(sign_ins):
                sign_in(port)
            after = _status(web.pid)
            token = (data / "api-token").read_text().strip()
            each = 10 if quick else 50
            body = Path(tmp) / "dashboard.json"
            body.write_bytes(_get(port, "/api/dashboard", {"Authorization": f"Bearer {token}"})[1])
            bare_port = free_port()
            bare_web = _serve(box, BARE.format(body=str(body), port=bare_port), bare_port, Path(tmp))
            try:
                # Alternate rounds, so both sides meet the same load on this shared machine.
                rounds: dict[int, tuple[subprocess.Popen, list[float], list[float]]] = {
                    port: (web, [], []), bare_port: (bare_web, [], [])}
                for each_port in rounds:
                    dashboard_latencies(each_port, token, 20, 2)  # warm-up: connections, the status cache
                for _ in range(5):
                    for each_port, (proc, latencies, cpu) in rounds.items():
                        began = _cpu_seconds(proc.pid)
                        latencies += dashboard_latencies(each_port, token, 20, max(each // 5, 1))
                        cpu.append(_cpu_seconds(proc.pid) - began)
            finally:
                bare_web.terminate()
                bare_web.wait(15)
            first_visits = walk(port)
            walked = _status(web.pid)
            _, latencies, cpu_spent = rounds[port]
            _, bare, bare_cpu_spent = rounds[bare_port]
            latencies.sort()
            cpu, bare_cpu = sum(cpu_spent), sum(bare_cpu_spent)
            return {"sign_ins": sign_ins, "idle_rss_mb": idle, "idle_first_rss_mb": idle_first,
                    "peak_rss_mb": after["VmHWM"],
                    "rss_after_mb": after["VmRSS"], "walk_rss_mb": walked["VmRSS"], "walk_peak_mb": walked["VmHWM"],
                    "pages": len(first_visits), "first_visits_ms": first_visits,
                    "dashboard_p50_ms": statistics.median(latencies) * 1000,
                    "dashboard_p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
                    "dashboard_cpu_ms": cpu / len(latencies) * 1000,
                    "bare_flask_p50_ms": statistics.median(bare) * 1000,
                    "bare_flask_cpu_ms": bare_cpu / len(bare) * 1000,
                    "dashboard_requests": len(latencies), "interpreter": box.note}
        finally:
            if web is not None:
                web.terminate()
                web.wait(15)
            daemon.close()
            emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    figures = run(parser.parse_args(argv).quick)
    visits = figures.pop("first_visits_ms")
    for name, value in figures.items():
        print(f"{name:22} {value:9.2f}" if isinstance(value, float | int) else f"{name:22} {value}")
    print("first visits, the slowest (ms, first / second):")
    for page, (first, second) in sorted(visits.items(), key=lambda item: -item[1][0])[:8]:
        print(f"  {page:22} {first:7.1f} / {second:6.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
