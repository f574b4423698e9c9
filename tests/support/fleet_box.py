"""One simulated box in a process of its own, for the tests that kill a box as a power cut would:
`python -m tests.support.fleet_box DATA DOCUMENT.json` prints "ready" once its daemon runs, then runs
until SIGTERM (or SIGKILL)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from tests.support.boxes import simulated_box


def main() -> None:
    data, document = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with simulated_box(data, document):
        print("ready", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
