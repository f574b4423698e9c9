"""The daemon's records: the call store, the webhook sender's thread and the daily retention run."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from .config_records import Records
from .integrations.webhooks import WebhookSender
from .privacy import Privacy
from .store.access import AccessStore
from .store.calls import CallStore
from .store.retention import enforce_retention

log = logging.getLogger(__name__)

DAY = 86400.0


class RecordKeeper:
    def __init__(self, data_dir: Path, records: Records, clock: Callable[[], float]) -> None:
        self.data_dir = data_dir
        self.records = records
        self.clock = clock
        restored = data_dir / "calls.db.restore"
        if restored.exists():
            # The web app restored a backup; only the daemon writes calls.db, so it swaps it in here.
            for suffix in ("-wal", "-shm"):
                (data_dir / f"calls.db{suffix}").unlink(missing_ok=True)
            restored.replace(data_dir / "calls.db")
            log.warning("call records restored from a backup")
        privacy = Privacy.for_data_dir(data_dir, records.privacy)
        self.store = CallStore(data_dir / "calls.db", privacy=privacy, webhooks=records.webhooks)
        self.next_maintenance = clock()  # retention runs at start, then once a day
        self._stop = threading.Event()
        self._sender: WebhookSender | None = None
        self._thread: threading.Thread | None = None
        if records.webhooks:
            self._sender = WebhookSender(self.store.path, records.webhooks, clock=clock)
            self.store.on_outbox = self._sender.wake
            self._thread = threading.Thread(target=self._sender.run, args=(self._stop,), name="webhooks",
                                            daemon=True)
            self._thread.start()

    def maintain(self) -> None:
        """The daily chores: data past its retention is deleted, with its audio files."""
        now = self.clock()
        if now < self.next_maintenance:
            return
        self.next_maintenance = now + DAY
        if not self.records.retention:
            return
        access = AccessStore(self.data_dir / "access.db")
        try:
            removed = enforce_retention(self.store, now, self.records.retention, audit=access)
        finally:
            access.close()
        if any(removed.values()):
            log.info("retention: removed %s", ", ".join(f"{n} {kind}" for kind, n in removed.items()))

    def close(self) -> None:
        if self._sender is not None:
            self._stop.set()
            self._sender.wake()
            self._thread.join(timeout=5)
            self._sender.close()
        self.store.close()
