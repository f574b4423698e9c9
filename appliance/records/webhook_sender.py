"""The webhook sender: the daemon's thread that posts the outbox (records/webhooks.py), signed as Standard Webhooks.

Loaded where the config names an endpoint (service/keeper.py, at the start or a reconfigure): a box without webhooks
holds none of it.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..digest import hmac_sha256
from .webhooks import REPLAY_WINDOW, Endpoint, Post, Resolve, resolve

log = logging.getLogger(__name__)


def sign(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: v1, then base64 HMAC-SHA256 of "id.timestamp.body" keyed by the secret."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac_sha256(secret.encode(), signed)).decode()


def verify(secret: str, body: bytes, headers: dict[str, str], *, now: float,
           window: float = REPLAY_WINDOW) -> bool:
    """What a receiver does: a fresh timestamp, then the signature compared in constant time.

    A receiver should also remember the webhook-id values it accepted within the window, and drop repeats."""
    import hmac  # a receiver's side (tests, docs): the daemon only signs

    lower = {k.lower(): v for k, v in headers.items()}
    try:
        delivery_id, timestamp = lower["webhook-id"], int(lower["webhook-timestamp"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > window:
        return False
    expected = sign(secret, delivery_id, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in lower.get("webhook-signature", "").split())


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST with the standard library; returns the HTTP status (an error status is returned, not raised)."""
    # the transport (http.client, ssl, email: ~2 MB) loads with the first delivery, so a box without
    # webhooks never carries it
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class WebhookSender:
    """Delivers the outbox. `deliver_due()` is one pass; `run(stop)` loops, sleeping until the next row is due."""

    def __init__(
        self,
        db_path: str | Path,
        endpoints: Sequence[Endpoint],
        *,
        clock: Callable[[], float] = time.time,
        post: Post = http_post,
        resolve: Resolve = resolve,
        base_delay: float = 5.0,
        max_delay: float = 3600.0,
        max_attempts: int = 15,
        timeout: float = 10.0,
        on_trouble: Callable[[str | None], None] | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.endpoints = {e.url: e for e in endpoints}
        self.clock = clock
        self.post = post
        self.resolve = resolve
        self.base_delay, self.max_delay, self.max_attempts, self.timeout = base_delay, max_delay, max_attempts, timeout
        self.on_trouble = on_trouble  # told why the outbox failed (an alarm), and None once it works again
        self._wake = threading.Event()
        self._conn = sqlite3.connect(str(self.db_path), check_same_thread=False, timeout=10)
        self._conn.row_factory = sqlite3.Row

    def wake(self) -> None:
        """New rows were queued: deliver now rather than at the next timer."""
        self._wake.set()

    def delay(self, attempts: int) -> float:
        """Backoff after the n-th failed attempt: base, 2 base, 4 base ... capped at max_delay."""
        return min(self.base_delay * 2 ** (attempts - 1), self.max_delay)

    def next_due(self) -> float | None:
        row = self._conn.execute("SELECT MIN(next_attempt_at) FROM webhook_outbox "
                                 "WHERE delivered_at IS NULL AND failed_at IS NULL").fetchone()
        return row[0]

    def deliver_due(self) -> int:
        """Try every row that is due now; returns how many were delivered."""
        now = self.clock()
        due = self._conn.execute(
            "SELECT id, url, event, body, attempts, created_at FROM webhook_outbox WHERE delivered_at IS NULL "
            "AND failed_at IS NULL AND next_attempt_at <= ? ORDER BY id", [now]).fetchall()
        delivered = 0
        for row in due:
            delivered += self._deliver(row)
        return delivered

    def _deliver(self, row: sqlite3.Row) -> int:
        endpoint = self.endpoints.get(row["url"])
        attempts = row["attempts"] + 1
        if endpoint is None:  # removed from the configuration since the row was queued
            self._update(row["id"], attempts=attempts, failed_at=self.clock(), last_error="endpoint removed")
            return 0
        body = row["body"].encode()
        # The same id on every retry (a receiver drops duplicates); a fresh timestamp on each (no replays).
        delivery_id, timestamp = f"msg_{row['id']}_{int(row['created_at'] * 1000)}", int(self.clock())
        headers = {"Content-Type": "application/json", "User-Agent": "hotline-webhooks/2",
                   "X-Hotline-Event": row["event"], "webhook-id": delivery_id, "webhook-timestamp": str(timestamp),
                   "webhook-signature": sign(endpoint.secret, delivery_id, timestamp, body)}
        try:
            error = endpoint.refused_target(self.resolve)
            if error is None:
                status = self.post(endpoint.url, body, headers, self.timeout)
                error = None if 200 <= status < 300 else f"HTTP {status}"
        except Exception as exc:  # a refused connection, a timeout, DNS: all are reasons to retry
            error = f"{type(exc).__name__}: {exc}"
        now = self.clock()
        if error is None:
            self._update(row["id"], attempts=attempts, delivered_at=now, last_error=None)
            return 1
        if attempts >= self.max_attempts:
            log.error("webhook %s to %s failed for good after %d attempts: %s", row["id"], endpoint.url,
                      attempts, error)
            self._update(row["id"], attempts=attempts, failed_at=now, last_error=error)
        else:
            log.warning("webhook %s to %s failed (%s); retry %d in %.0f s", row["id"], endpoint.url, error,
                        attempts, self.delay(attempts))
            self._update(row["id"], attempts=attempts, next_attempt_at=now + self.delay(attempts), last_error=error)
        return 0

    def _update(self, row_id: int, **changes: object) -> None:
        columns = ", ".join(f"{name} = ?" for name in changes)
        with self._conn:
            self._conn.execute(f"UPDATE webhook_outbox SET {columns} WHERE id = ?", [*changes.values(), row_id])

    def run(self, stop: threading.Event) -> None:
        """Deliver until stop is set (then call wake() so it notices at once); blocks, never polls."""
        while not stop.is_set():
            try:
                self.deliver_due()
                due = self.next_due()
                trouble = None
            except sqlite3.Error as exc:
                log.exception("webhook outbox unreadable; trying again in a minute")
                due = self.clock() + 60
                trouble = (f"webhooks cannot be sent: the outbox cannot be read or updated ({exc}); "
                           "tried again every minute")
            if self.on_trouble is not None:
                self.on_trouble(trouble)
            timeout = None if due is None else max(0.0, due - self.clock())
            self._wake.wait(timeout)
            self._wake.clear()

    def close(self) -> None:
        self._conn.close()
