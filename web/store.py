"""The web app's own database (data_dir/web.db): users, config revisions and the knowledge base.

Call data, operators' notes included, stays in the daemon's calls.db, which the web app only ever reads.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

ROLES = ("admin", "supervisor", "operator")
LANGUAGES = ("en", "ru")
SCHEMA_VERSION = 2  # 2: the knowledge base (web/articles.py)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, password TEXT NOT NULL,
    role TEXT NOT NULL, lang TEXT NOT NULL DEFAULT 'en', handset TEXT, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY, created_at REAL NOT NULL, username TEXT, toml TEXT NOT NULL,
    diff TEXT NOT NULL, note TEXT);
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '',
    author TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title, body, tags, content='articles', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS articles_added AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags); END;
CREATE TRIGGER IF NOT EXISTS articles_deleted AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body, tags)
    VALUES ('delete', old.id, old.title, old.body, old.tags); END;
CREATE TRIGGER IF NOT EXISTS articles_changed AFTER UPDATE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body, tags)
    VALUES ('delete', old.id, old.title, old.body, old.tags);
    INSERT INTO articles_fts (rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags); END;
"""


class WebStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self._db() as db:
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        # A connection per use: waitress serves from several threads and this file is small.
        conn = sqlite3.connect(self.path, timeout=5)
        conn.row_factory = sqlite3.Row
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    connection = _db  # a connection in a transaction, for the knowledge base (web/articles.py) in this file

    # --- users ----------------------------------------------------------------

    def has_users(self) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def add_user(self, username: str, password: str, role: str, lang: str = "en") -> int:
        username = username.strip()
        if not username or len(username) > 64:
            raise ValueError("the user name must be 1 to 64 characters")
        if len(password) < 8:
            raise ValueError("the password must be at least 8 characters")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        try:
            with self._db() as db:
                cursor = db.execute(
                    "INSERT INTO users (username, password, role, lang, created_at) VALUES (?, ?, ?, ?, ?)",
                    [username, generate_password_hash(password), role, lang, time.time()])
        except sqlite3.IntegrityError:
            raise ValueError(f"the user name {username!r} is taken") from None
        return int(cursor.lastrowid)

    def create_first_admin(self, username: str, password: str, lang: str) -> int:
        """Only while there are no users: the first-boot setup page, never a way in later."""
        if self.has_users():
            raise PermissionError("the box is already set up")
        return self.add_user(username, password, "admin", lang)

    def authenticate(self, username: str, password: str) -> dict[str, Any] | None:
        user = self.user_by_name(username)
        if user is None:
            # Hash anyway so a missing user takes as long as a wrong password.
            check_password_hash(_DUMMY_HASH, password)
            return None
        return user if check_password_hash(user["password"], password) else None

    def user_by_name(self, username: str) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM users WHERE username = ?", [username]).fetchone()
        return dict(row) if row else None

    def user(self, user_id: int) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM users WHERE id = ?", [user_id]).fetchone()
        return dict(row) if row else None

    def users(self) -> list[dict[str, Any]]:
        with self._db() as db:
            return [dict(r) for r in db.execute("SELECT id, username, role, lang, handset FROM users ORDER BY id")]

    def update_user(self, user_id: int, **fields: Any) -> None:
        allowed = {"lang": LANGUAGES, "role": ROLES}
        for name, value in fields.items():
            if name == "password":
                if len(value) < 8:
                    raise ValueError("the password must be at least 8 characters")
                value = generate_password_hash(value)
            elif name in allowed and value not in allowed[name]:
                raise ValueError(f"{name} must be one of {', '.join(allowed[name])}")
            elif name not in allowed and name != "handset":
                raise ValueError(f"unknown user field {name!r}")
            with self._db() as db:  # the column name was checked against the fixed list above
                db.execute(f"UPDATE users SET {name} = ? WHERE id = ?", [value, user_id])

    def delete_user(self, user_id: int) -> None:
        with self._db() as db:
            admins = db.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND id != ?", [user_id]).fetchone()[0]
            if admins == 0:
                raise ValueError("the last admin cannot be deleted")
            db.execute("DELETE FROM users WHERE id = ?", [user_id])

    # --- config revisions -----------------------------------------------------

    def add_revision(self, toml: str, diff: str, username: str | None, note: str) -> int:
        with self._db() as db:
            cursor = db.execute("INSERT INTO revisions (created_at, username, toml, diff, note) VALUES (?, ?, ?, ?, ?)",
                                [time.time(), username, toml, diff, note])
        return int(cursor.lastrowid)

    def revisions(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM revisions ORDER BY id DESC LIMIT ?", [limit])
            return [dict(r) for r in rows]

    def revision(self, revision_id: int) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM revisions WHERE id = ?", [revision_id]).fetchone()
        return dict(row) if row else None

    def latest_revision(self) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM revisions ORDER BY id DESC LIMIT 1").fetchone()
        return dict(row) if row else None


_DUMMY_HASH = generate_password_hash("not a password of anyone")
