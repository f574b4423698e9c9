"""The daemon loads only what the box uses: a box without webhooks never loads an HTTP/TLS client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A fresh interpreter holding a started daemon (simulated hardware, the built-in config: no webhooks).
STARTED = """
import copy, sys, threading
sys.path.insert(0, {repo!r})
from appliance import config as configuration
from appliance.sim.simulation import Simulation

doc = copy.deepcopy(configuration.default_document())
doc["prompts"] = {{name: dict(spec, text="Hi.") for name, spec in doc["prompts"].items()}}
simulation = Simulation(doc)
daemon = simulation.daemon(configuration.parse(simulation.document, simulated=True), {data!r})
daemon.start()
loop = threading.Thread(target=daemon.run, daemon=True)
loop.start()
print(sorted({{m.split(".")[0] for m in sys.modules}} & {{"http", "ssl"}}))
daemon.stop()
loop.join(10)
simulation.close()
"""


def test_a_box_without_webhooks_loads_no_http_or_tls_client(tmp_path):
    script = STARTED.format(repo=str(REPO), data=str(tmp_path / "data"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr[-2000:]
