"""`hotline run` that dies by SIGKILL the first time it is about to make one given write to its call log.

    python -m tests.support.killed_daemon CONFIG DATA WRITE

WRITE names a CallStore method (`caller_known`, `call_ended`, ...). The daemon is made as `hotline run` makes
it (mock pins from GPIOZERO_PIN_FACTORY); the first time the event loop calls that write, the process kills
itself before the write reaches the database: a crash (the OOM killer, the watchdog, a power loss without
the cut) at exactly that moment between two of a call's writes, which a kill from outside hits only by luck.
"""

from __future__ import annotations

import os
import signal
import sys

from appliance import config as configuration
from appliance.handsets.gpio_backend import real_pin_factory
from appliance.records.store.calls import CallStore
from appliance.service.daemon import Daemon


def main(argv: list[str]) -> None:
    config, data, write = argv
    getattr(CallStore, write)  # a name CallStore does not have is the test's mistake: say so at once

    def killed(*_args: object, **_kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(CallStore, write, killed)
    daemon = Daemon(configuration.load(config), data_dir=data, pin_factory=real_pin_factory())
    daemon.start()
    daemon.run()


if __name__ == "__main__":
    main(sys.argv[1:])
