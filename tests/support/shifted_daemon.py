"""`hotline run` on a box whose wall clock is off by a set amount, as a Pi's is before NTP sets it.

    python -m tests.support.shifted_daemon CONFIG DATA SYNCED_FILE OFFSET_SECONDS

The daemon as `hotline run` makes it (mock pins from GPIOZERO_PIN_FACTORY), but its wall clock reads the true
time plus OFFSET_SECONDS and counts as synchronised once SYNCED_FILE exists (systemd-timesyncd's file). A test
runs it as a real process so that it can kill it with SIGKILL, the way a crash or power cut stops a box.
"""

from __future__ import annotations

import sys
import time

from appliance import config as configuration
from appliance.handsets.gpio_backend import real_pin_factory
from appliance.service.daemon import Daemon
from appliance.service.timesync import SystemTime


def main(argv: list[str]) -> None:
    config, data, synced, offset = argv
    shift = float(offset)
    clock = SystemTime(synced, wall=lambda: time.time() + shift)
    daemon = Daemon(configuration.load(config), data_dir=data, pin_factory=real_pin_factory(), clock=clock)
    daemon.start()
    daemon.run()


if __name__ == "__main__":
    main(sys.argv[1:])
