"""The web app's own database (data_dir/web.db): users, config revisions and the knowledge base.

Call data, operators' notes included, stays in the daemon's calls.db, which the web app only ever reads.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import passwords

ROLES = ("admin", "supervisor", "operator")
LANGUAGES = ("en", "ru")
SCHEMA_VERSION = 3  # 2: the knowledge base (web/articles.py); 3: user ids never reused, session versions

M_ARENA_MAX = -8  # glibc's mallopt() parameter
_own_connections = threading.local()  # per thread: ((path, device, inode), connection), see WebStore._kept


def one_malloc_arena() -> None:
    """All threads allocate from one glibc heap, not one heap ("arena") per thread that keeps what it freed.

    Each waitress thread that served requests kept ~0.7 MB resident in its own arena (16 threads: +11 MB, one
    arena: +3 MB; tests/integration/test_web_memory.py). The GIL already runs one thread at a time, so they
    hardly ever wait for the shared heap's lock. Elsewhere than glibc there is no mallopt and nothing to do.
    Where glibc was told at start (MALLOC_ARENA_MAX=1: hotline-web.service) ctypes is not loaded for it (0.26 MB).
    """
    if os.environ.get("MALLOC_ARENA_MAX") == "1":
        return
    import ctypes

    try:
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, 1)
    except (OSError, AttributeError):
        pass


_USERS = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT UNIQUE NOT NULL, password TEXT NOT NULL,
    role TEXT NOT NULL, lang TEXT NOT NULL DEFAULT 'en', handset TEXT, created_at REAL NOT NULL,
    session_version TEXT NOT NULL DEFAULT '');
"""
_SCHEMA = _USERS + """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    version TEXT NOT NULL, started_at REAL NOT NULL, seen_at REAL NOT NULL);
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
            db.execute("BEGIN IMMEDIATE")
            if db.execute("PRAGMA user_version").fetchone()[0] < 3:
                _migrate_users(db)
            db.commit()
            db.executescript(_SCHEMA)
            have = {row[1] for row in db.execute("PRAGMA table_info(users)")}
            for column in ("email", "phone"):  # where alerts reach a user by role (docs/alerts.md)
                if column not in have:
                    db.execute(f"ALTER TABLE users ADD COLUMN {column} TEXT")
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

    def _kept(self) -> sqlite3.Connection:
        """This thread's own connection to web.db, kept between requests, for the session check every page and
        every poll of a signed-in browser makes: opening one and reading web.db's schema (its FTS tables and
        triggers) took ~0.35 of the ~0.63 ms a dashboard poll cost. A web.db replaced by a restore (a new inode)
        is opened afresh."""
        st = os.stat(self.path)
        mine = (self.path, st.st_dev, st.st_ino)
        held: tuple[tuple[Path, int, int], sqlite3.Connection] | None = getattr(_own_connections, "held", None)
        if held is not None and held[0] == mine:
            return held[1]
        if held is not None:  # one at a time: a box has one web.db (a test process makes many)
            held[1].close()
        conn = sqlite3.connect(self.path, timeout=5)
        conn.row_factory = sqlite3.Row
        _own_connections.held = (mine, conn)
        return conn

    # --- users ----------------------------------------------------------------

    def has_users(self) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def add_user(self, username: str, password: str, role: str, lang: str = "en") -> int:
        username = _checked_user(username, password, role, lang)
        try:
            with self._db() as db:
                return _insert_user(db, username, passwords.make(password), role, lang)
        except sqlite3.IntegrityError:
            raise ValueError(f"the user name {username!r} is taken") from None

    def create_first_admin(self, username: str, password: str, lang: str) -> int:
        """Only while there are no users: the first-boot setup page, never a way in later.

        "No users yet" and the insert are one write transaction, so of several setups racing
        exactly one makes an admin and the others get PermissionError.
        """
        username = _checked_user(username, password, "admin", lang)
        hashed = passwords.make(password)  # outside the transaction: it is the slow part
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            if db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None:
                raise PermissionError("the box is already set up")
            return _insert_user(db, username, hashed, "admin", lang)

    def authenticate(self, username: str, password: str) -> dict[str, Any] | None:
        user = self.user_by_name(username)
        if user is None:
            passwords.check_nobody(password)  # a missing user takes as long as a wrong password
            return None
        matches, renewed = passwords.check(user["password"], password)
        if not matches:
            return None
        if renewed:  # made with older parameters: the one moment the password is known, stored at today's cost
            with self._db() as db:
                db.execute("UPDATE users SET password = ? WHERE id = ?", [renewed, user["id"]])
        return user

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

    def contacts(self) -> list[dict[str, Any]]:
        with self._db() as db:
            return [dict(r) for r in db.execute("SELECT id, username, role, email, phone FROM users ORDER BY id")]

    def set_contact(self, user_id: int, email: str | None, phone: str | None) -> None:
        """Where alerts for the user's role reach them (the alert sender reads these columns)."""
        with self._db() as db:
            db.execute("UPDATE users SET email = ?, phone = ? WHERE id = ?", [email, phone, user_id])

    def update_user(self, user_id: int, **fields: Any) -> None:
        """Change fields; a new password or role also ends every session the user has."""
        allowed = {"lang": LANGUAGES, "role": ROLES}
        changes: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "password":
                if len(value) < 8:
                    raise ValueError("the password must be at least 8 characters")
                value = passwords.make(value)
            elif name in allowed and value not in allowed[name]:
                raise ValueError(f"{name} must be one of {', '.join(allowed[name])}")
            elif name not in allowed and name != "handset":
                raise ValueError(f"unknown user field {name!r}")
            changes[name] = value
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()
            if row is None:
                raise ValueError(f"no user with id {user_id}")
            if changes.get("role", "admin") != "admin" and row["role"] == "admin" and _other_admins(db, user_id) == 0:
                raise ValueError("the last admin cannot stop being admin: make another user admin first")
            if "password" in changes or changes.get("role", row["role"]) != row["role"]:
                changes["session_version"] = _new_version()
            for name, value in changes.items():  # each column name was checked against the fixed list above
                db.execute(f"UPDATE users SET {name} = ? WHERE id = ?", [value, user_id])
            if "session_version" in changes:
                db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])

    def end_sessions(self, user_id: int) -> None:
        """Log the user out everywhere: every cookie made before this stops working."""
        with self._db() as db:
            db.execute("UPDATE users SET session_version = ? WHERE id = ?", [_new_version(), user_id])
            db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])

    # --- sessions: the cookie holds only a random id; what it opens is decided here -------------

    def open_session(self, user: dict[str, Any], now: float, absolute: float) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE started_at < ? OR started_at > ?", [now - absolute, now + absolute])
            db.execute("INSERT INTO sessions (id, user_id, version, started_at, seen_at) VALUES (?, ?, ?, ?, ?)",
                       [session_id, user["id"], user["session_version"], now, now])
        return session_id

    def session_user(self, session_id: str, now: float, idle: float, absolute: float) -> dict[str, Any] | None:
        """The session's user while the session lives: not logged out, not idle or old, user unchanged."""
        with self._kept() as db:
            row = db.execute("SELECT s.started_at, s.seen_at, s.version AS opened_as, u.* FROM sessions s "
                             "JOIN users u ON u.id = s.user_id WHERE s.id = ?", [session_id]).fetchone()
            if row is None:
                return None
            if (row["opened_as"] != row["session_version"] or not now - row["started_at"] < absolute
                    or not now - row["seen_at"] < idle):
                db.execute("DELETE FROM sessions WHERE id = ?", [session_id])
                return None
            if now - row["seen_at"] > 60:  # not on every request: the console polls every few seconds
                db.execute("UPDATE sessions SET seen_at = ? WHERE id = ?", [now, session_id])
        user = dict(row)
        for column in ("started_at", "seen_at", "opened_as"):
            del user[column]
        return user

    def close_session(self, session_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", [session_id])

    def delete_user(self, user_id: int) -> None:
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()
            if row is not None and row["role"] == "admin" and _other_admins(db, user_id) == 0:
                raise ValueError("the last admin cannot be deleted: make another user admin first")
            db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])
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


def _checked_user(username: str, password: str, role: str, lang: str) -> str:
    username = username.strip()
    if not username or len(username) > 64:
        raise ValueError("the user name must be 1 to 64 characters")
    if len(password) < 8:
        raise ValueError("the password must be at least 8 characters")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    return username


def _insert_user(db: sqlite3.Connection, username: str, hashed: str, role: str, lang: str) -> int:
    cursor = db.execute(
        "INSERT INTO users (username, password, role, lang, created_at, session_version) VALUES (?, ?, ?, ?, ?, ?)",
        [username, hashed, role, lang, time.time(), _new_version()])
    return int(cursor.lastrowid)


def _other_admins(db: sqlite3.Connection, user_id: int) -> int:
    return db.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND id != ?", [user_id]).fetchone()[0]


def _new_version() -> str:
    # Random rather than a counter: a restored backup cannot bring an old counter value, and so an old cookie, back.
    return secrets.token_hex(8)


def _migrate_users(db: sqlite3.Connection) -> None:
    """Schema 3: rebuild users with AUTOINCREMENT (SQLite cannot add it in place) and a session version.

    Every user gets a fresh version, so cookies made before the upgrade stop working once.
    """
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users'").fetchone()
    if exists is None:
        return
    db.execute("ALTER TABLE users RENAME TO users_old")
    db.execute(_USERS)
    db.execute("INSERT INTO users (id, username, password, role, lang, handset, created_at) "
               "SELECT id, username, password, role, lang, handset, created_at FROM users_old")
    for (user_id,) in db.execute("SELECT id FROM users").fetchall():
        db.execute("UPDATE users SET session_version = ? WHERE id = ?", [_new_version(), user_id])
    db.execute("DROP TABLE users_old")
