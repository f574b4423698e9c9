"""Who may read the records and who did: API client tokens and the audit log.

They live in their own database (`access.db` next to `calls.db`) because the
web app and the CLI write them, while `calls.db` has one writer, the daemon.
Only a SHA-256 hash of each token is kept; the token itself is shown once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from ...digest import sha256, token_urlsafe
from ..privacy import FULL_NUMBER_ROLES
from .lite import Database
from .migrations import migrate

if TYPE_CHECKING:
    import sqlite_utils

TOKEN_ROLES = ("operator", *sorted(FULL_NUMBER_ROLES))
TOKEN_PREFIX = "hl_"
# Refused unauthenticated requests are counted, one row per source and hour, never a row each: a stranger
# must not be able to fill the disk by asking (issue 15, finding 8). Past DENIED_SOURCES sources in an
# hour the rest share one row.
DENIED_WINDOW = 3600.0
DENIED_SOURCES = 50
DENIED_PATH = 120  # characters of the last refused path kept
OTHER_SOURCES = "other sources"


def _m1_access(db: sqlite_utils.Database) -> None:
    db["api_tokens"].create(
        {"id": int, "client": str, "token_hash": str, "role": str, "created_at": float, "revoked_at": float},
        pk="id")
    db.execute("CREATE UNIQUE INDEX idx_tokens_hash ON api_tokens (token_hash)")
    db["audit"].create(
        {"id": int, "at": float, "actor": str, "action": str, "target": str, "detail": str}, pk="id")
    db["audit"].create_index(["at"])
    db["audit"].create_index(["actor", "at"])


def _m2_denied_counts(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE audit ADD COLUMN count INTEGER")


ACCESS_MIGRATIONS = [_m1_access, _m2_denied_counts]


def _hash(token: str) -> str:
    return sha256(token.encode()).hexdigest()


class AccessStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = Database(sqlite3.connect(str(self.path), check_same_thread=False, timeout=10))
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=NORMAL")
        migrate(self.db, ACCESS_MIGRATIONS)

    # --- API tokens -----------------------------------------------------------

    def create_token(self, client: str, *, now: float, role: str = "operator") -> str:
        """A new token for client; returned once, stored only as a hash."""
        client = (client or "").strip()
        if not client or len(client) > 80:
            raise ValueError("an API client needs a name of 1 to 80 characters")
        if role not in TOKEN_ROLES:
            raise ValueError(f"token role {role!r} is not one of {', '.join(TOKEN_ROLES)}")
        token = TOKEN_PREFIX + token_urlsafe(32)
        with self.db.atomic():
            self.db["api_tokens"].insert({"client": client, "token_hash": _hash(token), "role": role,
                                          "created_at": now})
            self._audit("admin", "token.create", client, f"role {role}", now)
        return token

    def revoke_tokens(self, client: str, *, now: float) -> int:
        """Revoke every live token of client; LookupError if it has none."""
        with self.db.atomic():
            cursor = self.db.execute("UPDATE api_tokens SET revoked_at = ? WHERE client = ? AND revoked_at IS NULL",
                                     [now, client])
            if cursor.rowcount == 0:
                raise LookupError(f"API client {client!r} has no live token")
            self._audit("admin", "token.revoke", client, f"{cursor.rowcount} token(s)", now)
        return cursor.rowcount

    def verify(self, token: str | None) -> dict | None:
        """The client and role behind a live token, or None."""
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        row = self.db.execute("SELECT client, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
                              [_hash(token)]).fetchone()
        return {"client": row[0], "role": row[1]} if row else None

    def tokens(self) -> list[dict]:
        rows = self.db.execute("SELECT id, client, role, created_at, revoked_at FROM api_tokens ORDER BY id")
        return [dict(zip(("id", "client", "role", "created_at", "revoked_at"), row, strict=True)) for row in rows]

    # --- audit ----------------------------------------------------------------

    def audit(self, actor: str, action: str, target: str | None, *, at: float, detail: str | None = None) -> None:
        """Record that actor did action (viewed, listened, exported, deleted ...) to target."""
        with self.db.atomic():
            self._audit(actor, action, target, detail, at)

    def _audit(self, actor: str, action: str, target: str | None, detail: str | None, at: float) -> None:
        self.db["audit"].insert({"at": at, "actor": actor, "action": action, "target": target, "detail": detail})

    def denied(self, source: str, path: str, why: str, *, at: float) -> None:
        """A refused request without a valid token: counted on its source's row for this hour."""
        shown_path = path if len(path) <= DENIED_PATH else path[:DENIED_PATH] + "..."
        with self.db.atomic():
            row = self._denied_row(source, at)
            if row is None and self.db.execute(
                    "SELECT COUNT(*) FROM audit WHERE action = 'api.denied' AND at >= ?",
                    [at - DENIED_WINDOW]).fetchone()[0] >= DENIED_SOURCES:
                source = OTHER_SOURCES
                row = self._denied_row(source, at)
            count = (row[1] or 1) + 1 if row else 1
            detail = f"{count} refused ({why}); last: {shown_path}"
            if row:
                self.db.execute("UPDATE audit SET count = ?, detail = ? WHERE id = ?", [count, detail, row[0]])
            else:
                self.db["audit"].insert({"at": at, "actor": "anonymous", "action": "api.denied", "target": source,
                                         "detail": detail, "count": 1})

    def _denied_row(self, source: str, at: float) -> tuple | None:
        return self.db.execute("SELECT id, count FROM audit WHERE action = 'api.denied' AND target = ? AND at >= ? "
                               "ORDER BY id DESC LIMIT 1", [source, at - DENIED_WINDOW]).fetchone()

    def prune_audit(self, before: float, *, now: float) -> int:
        """Audit entries older than `before` are deleted (the [retention] audit days); the pruning is audited."""
        with self.db.atomic():
            removed = self.db.execute("DELETE FROM audit WHERE at < ?", [before]).rowcount
            if removed:
                self._audit("system", "retention.delete", None, f"audit={removed}", now)
        return removed

    def audit_entries(self, *, limit: int = 100, actor: str | None = None, since: float | None = None) -> list[dict]:
        where, params = ["1"], []
        if actor:
            where.append("actor = ?")
            params.append(actor)
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        rows = self.db.execute(f"SELECT id, at, actor, action, target, detail FROM audit WHERE {' AND '.join(where)} "
                               "ORDER BY id DESC LIMIT ?", [*params, limit])
        return [dict(zip(("id", "at", "actor", "action", "target", "detail"), row, strict=True)) for row in rows]

    def close(self) -> None:
        self.db.close()
