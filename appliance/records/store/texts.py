"""Text conversations (docs/texts.md): the daemon's writes and the web's reads of the two-way SMS line.

A conversation is one caller's texts while it is open: the messages themselves are rows of `sms` carrying its
id. The caller's number is kept as the privacy mode keeps numbers (`number`) and, so that an operator can
answer a caller the page only shows as a pseudonym, sealed with the box's key (`sealed`, AES-GCM). Texts are
stored exactly as they came (markup, control characters and all); pages escape them when they show them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..privacy import Privacy, appear
from ..sealed import Seal

LABEL = b"hotline text conversations"
LIMIT = 200


class TextStore:
    """The daemon's side; `store` is its call store (the connection can be swapped after a full disk)."""

    def __init__(self, store: Any, privacy: Privacy) -> None:
        self._store, self.privacy = store, privacy
        self._seal = Seal(privacy.secret, LABEL)

    @property
    def _db(self) -> Any:
        return self._store.db

    def open_for(self, number: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM conversations WHERE caller_key = ? AND state = 'open' ORDER BY id "
                               "DESC LIMIT 1", [self.privacy.key(number)]).fetchone()
        return _dict(self._db, row)

    def get(self, conversation_id: int) -> dict[str, Any] | None:
        return _dict(self._db, self._db.execute("SELECT * FROM conversations WHERE id = ?",
                                                [conversation_id]).fetchone())

    def start(self, number: str, line: str, operator: str | None, at: float) -> int:
        with self._db.atomic():
            return self._db["conversations"].insert({
                "caller_key": self.privacy.key(number), "number": appear(number, "record", policy=self.privacy),
                "sealed": self._seal.seal(number.encode()).decode(), "line": line, "operator": operator,
                "state": "open", "opened_at": at, "updated_at": at, "unread": 0}).last_pk

    def number(self, conversation: dict[str, Any]) -> str:
        """The caller's number, to answer them (never shown)."""
        return self._seal.open(conversation["sealed"].encode()).decode()

    def link(self, conversation_id: int, number: str, direction: str, author: str | None, at: float) -> None:
        """The message just recorded for this caller (actions.py writes every SMS) belongs to the conversation."""
        with self._db.atomic():
            self._db.execute("UPDATE sms SET conversation_id = ?, author = ? WHERE id = (SELECT MAX(id) FROM sms "
                             "WHERE caller_key = ? AND direction = ? AND conversation_id IS NULL)",
                             [conversation_id, author, self.privacy.key(number), direction])
            unread = "unread + 1" if direction == "in" else "0"
            self._db.execute(f"UPDATE conversations SET updated_at = ?, unread = {unread} WHERE id = ?",
                             [at, conversation_id])

    def update(self, conversation_id: int, **changes: Any) -> None:
        with self._db.atomic():
            self._db.execute(f"UPDATE conversations SET {', '.join(f'{c} = ?' for c in changes)} WHERE id = ?",
                             [*changes.values(), conversation_id])

    def open_counts(self) -> dict[str, int]:
        return {row[0]: row[1] for row in self._db.execute(
            "SELECT operator, COUNT(*) FROM conversations WHERE state = 'open' AND operator IS NOT NULL "
            "GROUP BY operator").fetchall()}


def _dict(db: Any, row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    if isinstance(row, sqlite3.Row):
        return dict(row)
    names = [c[1] for c in db.execute("PRAGMA table_info(conversations)").fetchall()]
    return dict(zip(names, row, strict=True))


# --- the web's reads --------------------------------------------------------------------------------------


def _rows(path: Path, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    from .queries import _reader  # the web's reader: the daemon, which only writes texts, never loads it

    if not path.exists():
        return []
    try:
        return [dict(r) for r in _reader(path).execute(sql, params)]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc) or "no such column" in str(exc):
            return []  # the daemon has not made its schema yet
        raise


def conversations(path: str | Path, state: str = "open") -> list[dict[str, Any]]:
    """The conversations in `state`, the most recently active first; `stored_caller` is the number as kept."""
    return _rows(Path(path), "SELECT id, number AS stored_caller, line, operator, state, opened_at, updated_at, "
                 "unread, (SELECT text FROM sms WHERE conversation_id = c.id ORDER BY id DESC LIMIT 1) "
                 "AS last FROM conversations c WHERE state = ? ORDER BY updated_at DESC LIMIT ?", [state, LIMIT])


def conversation(path: str | Path, conversation_id: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """One conversation and its messages, oldest first."""
    found = _rows(Path(path), "SELECT id, number AS stored_caller, caller_key, line, operator, state, opened_at, "
                  "updated_at, closed_at FROM conversations WHERE id = ?", [conversation_id])
    if not found:
        return None, []
    # In arrival order: an incoming text's stamp is the network's, to the second.
    return found[0], _rows(Path(path), "SELECT id, direction, at, text, author FROM sms WHERE conversation_id = ? "
                           "ORDER BY id", [conversation_id])


def counts(path: str | Path, since: float, until: float) -> dict[str, int]:
    """Texts received and sent, and conversations opened, in [since, until): the statistics page's figures."""
    found = _rows(Path(path), "SELECT (SELECT COUNT(*) FROM sms WHERE direction = 'in' AND at >= ? AND at < ?) AS "
                  "received, (SELECT COUNT(*) FROM sms WHERE direction = 'out' AND at >= ? AND at < ?) AS sent, "
                  "(SELECT COUNT(*) FROM conversations WHERE opened_at >= ? AND opened_at < ?) AS conversations",
                  [since, until] * 3)
    return found[0] if found else {"received": 0, "sent": 0, "conversations": 0}
