"""The fleet over a real Mosquitto (TLS, password): how fast a change on a box reaches a subscriber, how many
messages a box sends per minute idle and while taking calls, and the memory the MQTT client adds.

    .venv/bin/python bench/fleet.py [--quick]
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent)]

from appliance.service import control  # noqa: E402
from tests.support.boxes import simulated_box  # noqa: E402
from tests.support.broker import Broker, Listener, fleet_document  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402

RSS_SCRIPT = """
import json, sys, time
sys.path[:0] = [{repo!r}]
from tests.support.boxes import simulated_box
from pathlib import Path
document = json.loads(Path({document!r}).read_text())
with simulated_box(Path({data!r}), document) as (daemon, _):
    time.sleep(2)  # the connection made, the first status sent
    rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
    print(json.dumps({{"rss_kb": rss, "paho": "paho" in sys.modules}}))
"""


def _rss(document: dict[str, Any], work: Path, name: str) -> dict[str, Any]:
    (work / f"{name}.json").write_text(json.dumps(document))
    shutil.copytree(work / "box" / "prompts", work / name / "prompts")  # spoken once, by the first box
    script = RSS_SCRIPT.format(repo=str(BENCH.parent), document=str(work / f"{name}.json"), data=str(work / name))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _count(listener: Listener, box: str) -> int:
    return sum(1 for topic, _, _ in listener.messages if topic.startswith(f"hotline/{box}/"))


def run(quick: bool = False) -> dict[str, Any]:
    rounds, window = (3, 3.0) if quick else (30, 60.0)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "broker").mkdir()
        broker = Broker(work / "broker")
        broker.start()
        listener = Listener(broker)
        try:
            with simulated_box(work / "box", fleet_document(broker, "bench")) as (daemon, simulation):
                wait_until(lambda: listener.last("hotline/bench/status"), 30, "the first status")
                # Propagation: an operator paused or back, until the subscriber holds the status that says so.
                times = []
                for n in range(rounds):
                    verb, free = ("operator.pause", 1) if n % 2 == 0 else ("operator.unpause", 2)
                    started = time.monotonic()
                    control.call(daemon.control_path, verb, operator="Anna", reason="bench")
                    wait_until(lambda f=free: listener.last("hotline/bench/status")["operators"]["free"] == f,
                               10, "the change at the subscriber", every=0.001)
                    times.append(time.monotonic() - started)
                time.sleep(1)
                before = _count(listener, "bench")
                time.sleep(window)
                idle = (_count(listener, "bench") - before) * 60 / window
                emulator, calls = simulation.emulators["gsm1"], 0
                before, ends = _count(listener, "bench"), time.monotonic() + window
                while time.monotonic() < ends:  # a caller every few seconds, each leaving in the menu
                    emulator.incoming_call("+79161234567")
                    wait_until(lambda: daemon.status()["lines"][0]["call"] is not None, 10, "the call taken")
                    time.sleep(1.0)
                    emulator.remote_hangup()
                    wait_until(lambda: daemon.status()["lines"][0]["call"] is None, 10, "the call over")
                    calls += 1
                    time.sleep(1.0)
                busy = (_count(listener, "bench") - before) * 60 / window
        finally:
            listener.close()
        try:
            document = fleet_document(broker, "rss-a")
            del document["fleet"]
            alone = _rss(document, work, "alone")
            fleet = _rss(fleet_document(broker, "rss-b"), work, "fleet")
        finally:
            broker.stop()
    return {"propagation_ms_median": statistics.median(times) * 1000, "propagation_ms_max": max(times) * 1000,
            "messages_per_minute_idle": idle, "messages_per_minute_calls": busy,
            "calls_per_minute": calls * 60 / window,
            "rss_alone_mb": alone["rss_kb"] / 1024, "rss_fleet_mb": fleet["rss_kb"] / 1024,
            "mqtt_client_mb": (fleet["rss_kb"] - alone["rss_kb"]) / 1024, "paho_loaded_alone": alone["paho"]}


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
