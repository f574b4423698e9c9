"""A CRM on 127.0.0.1 that takes webhooks: what the box sent, and the status it is told to answer."""

from __future__ import annotations

import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = "a shared secret of the CRM"


class Receiver:
    """A CRM on 127.0.0.1: answers each POST with the next status in `statuses` (then 200), records bodies."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: queue.Queue = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.put((status, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self, n: int) -> list[tuple[int, dict, bytes]]:
        return [self.received.get(timeout=10) for _ in range(n)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
