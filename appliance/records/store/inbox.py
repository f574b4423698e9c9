"""The read model of the inboxes: voicemail, SMS and callbacks as the web app lists them.

The web app runs no SQL of its own on calls.db: these queries are the store's, beside the schema they
read, on the call log's per-thread read-only connection. Numbers come back as stored (the record's
privacy mode); the page shows them as the viewer's role may see them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from .queries import _reader

LIMIT = 200  # the newest messages a list shows


class Inbox:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _rows(self, sql: str, params: list[Any] | tuple = ()) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        try:
            return [dict(row) for row in _reader(self.path).execute(sql, params)]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []  # the daemon has not made its schema yet
            raise

    # --- voicemail --------------------------------------------------------------

    def voicemails(self, words: str = "") -> list[dict[str, Any]]:
        """The newest messages (those whose transcript has `words`, when given), each with its caller as
        stored with the call (`stored_caller`)."""
        like = "%" + words.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return self._rows("SELECT v.id, v.call_id, v.caller_key, v.at, v.seconds, v.listened_at, v.cut_short, "
                          "v.transcript, c.caller AS stored_caller "
                          "FROM voicemails v LEFT JOIN calls c ON c.id = v.call_id "
                          "WHERE ? = '%%' OR v.transcript LIKE ? ESCAPE '\\' ORDER BY v.at DESC LIMIT ?",
                          [like, like, LIMIT])

    def voicemail(self, voicemail_id: int) -> dict[str, Any] | None:
        """The message's call and its audio path (relative to the data directory); None: no such message."""
        found = self._rows("SELECT call_id, path FROM voicemails WHERE id = ?", [voicemail_id])
        return found[0] if found else None

    def voicemail_caller(self, voicemail_id: int) -> str | None:
        """The number of whoever left the message, as their call keeps it (masked or a pseudonym in those modes)."""
        found = self._rows("SELECT c.caller FROM voicemails v JOIN calls c ON c.id = v.call_id WHERE v.id = ?",
                           [voicemail_id])
        return found[0]["caller"] if found else None

    # --- SMS ---------------------------------------------------------------------

    def sms(self, direction: str | None = None) -> list[dict[str, Any]]:
        """The newest messages received ("in") and sent ("out"), or of one direction; `stored_caller` is the number."""
        where = "WHERE direction = ? " if direction else ""
        return self._rows("SELECT id, line, direction, number AS stored_caller, at, text FROM sms "
                          f"{where}ORDER BY at DESC LIMIT ?", [direction, LIMIT] if direction else [LIMIT])

    # --- callbacks ---------------------------------------------------------------

    def pending_callbacks(self) -> list[dict[str, Any]]:
        """Callback requests still to do, oldest first."""
        return self._rows("SELECT id, request_id, call_id, number, status, attempts, requested_at, detail "
                          "FROM callbacks WHERE status = 'pending' ORDER BY requested_at")

    def pending_callback(self, callback_id: int) -> dict[str, Any] | None:
        """One request still to do (its id and number as stored); None: no such request, or it is done."""
        found = self._rows("SELECT id, number FROM callbacks WHERE id = ? AND status = 'pending'", [callback_id])
        return found[0] if found else None
