"""The web app on a real waitress server in a thread, for tests that need real HTTP (threads, cookies, nginx)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from tests.support.waiting import free_port


@contextmanager
def serving(app: Flask, threads: int = 4) -> Iterator[int]:
    """Serves `app` on 127.0.0.1 at a free port (yielded) until the block ends."""
    from waitress.server import create_server

    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=threads)
    closing = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:
            # close() from the test pulls the socket out from under waitress's select(): EBADF ends the loop.
            if not closing.is_set():
                raise

    thread = threading.Thread(target=run, name="waitress", daemon=True)
    thread.start()
    try:
        yield port
    finally:
        closing.set()
        server.close()
        thread.join(10)
