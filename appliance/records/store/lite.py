"""The daemon's handle on calls.db: the few table operations its writer needs, on plain sqlite3.

sqlite-utils brings click, pluggy, dateutil and an entry-point scan with it (some 8 MB of a 512 MB Pi's memory
for as long as the daemon runs) although the writer only inserts, upserts, updates and reads rows by key.
Those are here, with the same calls (`db["calls"].insert(row).last_pk`), so the writer's code reads as before;
sqlite-utils is still what the migrations (loaded only when the schema is behind), the web app and the
salvage of a damaged log use.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any


def as_stored(value: Any) -> Any:
    # as sqlite-utils stores them, so a row reads back the same whichever wrote it
    return json.dumps(value, default=repr) if isinstance(value, dict | list | tuple) else value


def _name(identifier: str) -> str:
    return "[" + identifier.replace("]", "]]") + "]"


class Table:
    def __init__(self, db: Database, name: str) -> None:
        self.db, self.name = db, name
        self.last_pk: int | None = None

    def insert(self, row: Mapping[str, Any]) -> Table:
        columns = list(row)
        cursor = self.db.execute(
            f"INSERT INTO {_name(self.name)} ({', '.join(map(_name, columns))}) "
            f"VALUES ({', '.join('?' * len(columns))})", [as_stored(row[c]) for c in columns])
        self.last_pk = cursor.lastrowid
        return self

    def insert_all(self, rows: Iterable[Mapping[str, Any]], batch_size: int = 100) -> Table:
        """Rows with different keys are fine: a key a row lacks is stored as NULL."""
        del batch_size  # one executemany per call: the writer's batches are small
        rows = list(rows)
        columns = list(dict.fromkeys(c for row in rows for c in row))
        if rows:
            self.db.conn.executemany(
                f"INSERT INTO {_name(self.name)} ({', '.join(map(_name, columns))}) "
                f"VALUES ({', '.join('?' * len(columns))})", [[as_stored(row.get(c)) for c in columns] for row in rows])
        return self

    def upsert(self, row: Mapping[str, Any], pk: str) -> Table:
        """Insert the row, or update the columns it names in the row with the same key."""
        columns = list(row)
        changed = [c for c in columns if c != pk]
        update = f"DO UPDATE SET {', '.join(f'{_name(c)} = excluded.{_name(c)}' for c in changed)}" if changed \
            else "DO NOTHING"
        self.db.execute(
            f"INSERT INTO {_name(self.name)} ({', '.join(map(_name, columns))}) "
            f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT ({_name(pk)}) {update}",
            [as_stored(row[c]) for c in columns])
        return self

    def update(self, key: Any, changes: Mapping[str, Any], pk: str = "id") -> Table:
        if changes:
            self.db.execute(f"UPDATE {_name(self.name)} SET {', '.join(f'{_name(c)} = ?' for c in changes)} "
                            f"WHERE {_name(pk)} = ?", [*map(as_stored, changes.values()), key])
        return self

    def get(self, key: Any, pk: str = "id") -> dict[str, Any]:
        cursor = self.db.execute(f"SELECT * FROM {_name(self.name)} WHERE {_name(pk)} = ?", [key])
        row = cursor.fetchone()
        if row is None:
            raise LookupError(f"no row {key!r} in {self.name}")
        return dict(zip((d[0] for d in cursor.description), row, strict=True))


class Database:
    """A connection with `execute`, tables by name and `atomic()`: a transaction that takes the write lock at
    BEGIN (BEGIN IMMEDIATE).

    A deferred BEGIN reads first and takes the write lock only at the first write; if the webhook sender wrote
    in between, SQLite cannot upgrade the stale read and fails at once with "database is locked", without
    waiting: an SMS stored while a delivery was being marked took the daemon's loop down. IMMEDIATE waits on
    the busy timeout instead.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.isolation_level = None  # no implicit BEGIN: a write outside atomic() commits at once, as in sqlite-utils
        self.conn = conn

    def __getitem__(self, table: str) -> Table:
        return Table(self, table)

    def execute(self, sql: str, parameters: Iterable[Any] | Mapping[str, Any] | None = None) -> sqlite3.Cursor:
        return self.conn.execute(sql, parameters) if parameters is not None else self.conn.execute(sql)

    def enable_wal(self) -> None:
        self.conn.execute("PRAGMA journal_mode=wal")

    def close(self) -> None:
        self.conn.close()

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        if self.conn.in_transaction:  # nested: a savepoint, so the inner part can fail alone
            self.conn.execute("SAVEPOINT inner")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:  # an error may have ended the whole transaction already
                    self.conn.execute("ROLLBACK TO inner")
                    self.conn.execute("RELEASE inner")
                raise
            self.conn.execute("RELEASE inner")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()  # a failed COMMIT (a full disk) must not leave the transaction open
            raise
