"""The knowledge base: articles admins write for operators, searched with SQLite FTS5 in web.db.

Not call data, so it lives in the web app's own database (schema in web/store.py), never in calls.db.
"""

from __future__ import annotations

import re
import time
from typing import Any

from markupsafe import Markup, escape

from appliance.records.store.queries import fts_query

from .store import WebStore

_OPEN, _CLOSE = "\x02", "\x03"  # FTS5 marks a match with these; stripped from what admins write
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TITLE, MAX_BODY, MAX_TAG = 200, 50_000, 40


def marked(text: str) -> Markup:
    """Text with FTS5's match marks as <mark>, everything else escaped."""
    return Markup(str(escape(text)).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>"))


def _clean(title: str, body: str, tags: str) -> tuple[str, str, str]:
    """The fields as stored; ValueError naming the field at fault."""
    title = _CONTROL.sub("", title or "").strip()
    body = _CONTROL.sub("", (body or "").replace("\r\n", "\n")).strip()
    words = [t.strip() for t in _CONTROL.sub("", tags or "").split(",") if t.strip()]
    if not title or len(title) > MAX_TITLE:
        raise ValueError(f"title: 1 to {MAX_TITLE} characters")
    if not body or len(body) > MAX_BODY:
        raise ValueError(f"body: 1 to {MAX_BODY} characters")
    long = [t for t in words if len(t) > MAX_TAG]
    if long:
        raise ValueError(f"tags: {long[0]!r} is longer than {MAX_TAG} characters")
    return title, body, ", ".join(dict.fromkeys(words))


class Articles:
    def __init__(self, store: WebStore) -> None:
        self.store = store

    def add(self, title: str, body: str, tags: str, author: str) -> int:
        title, body, tags = _clean(title, body, tags)
        now = time.time()
        with self.store.connection() as db:
            cursor = db.execute("INSERT INTO articles (title, body, tags, author, created_at, updated_at) "
                                "VALUES (?, ?, ?, ?, ?, ?)", [title, body, tags, author, now, now])
        return int(cursor.lastrowid)

    def update(self, article_id: int, title: str, body: str, tags: str, author: str) -> None:
        title, body, tags = _clean(title, body, tags)
        with self.store.connection() as db:
            cursor = db.execute("UPDATE articles SET title = ?, body = ?, tags = ?, author = ?, updated_at = ? "
                                "WHERE id = ?", [title, body, tags, author, time.time(), article_id])
        if cursor.rowcount == 0:
            raise LookupError(f"no article {article_id}")

    def delete(self, article_id: int) -> None:
        with self.store.connection() as db:
            if db.execute("DELETE FROM articles WHERE id = ?", [article_id]).rowcount == 0:
                raise LookupError(f"no article {article_id}")

    def get(self, article_id: int) -> dict[str, Any] | None:
        with self.store.connection() as db:
            row = db.execute("SELECT * FROM articles WHERE id = ?", [article_id]).fetchone()
        return dict(row) if row else None

    def all(self, limit: int = 500) -> list[dict[str, Any]]:
        with self.store.connection() as db:
            rows = db.execute("SELECT id, title, tags, updated_at FROM articles ORDER BY title COLLATE NOCASE "
                              "LIMIT ?", [limit])
            return [dict(r) for r in rows]

    def search(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        """Articles with every word of text (as a word prefix, any case, Cyrillic too), best first: a title
        hit counts most, then tags, then the body. Each has `title_html` and `snippet_html`, safe to show.
        ValueError when text has no words."""
        query = fts_query(text[:200])
        with self.store.connection() as db:
            rows = db.execute(
                "SELECT a.id, a.tags, highlight(articles_fts, 0, ?, ?) AS title, "
                "snippet(articles_fts, 1, ?, ?, '…', 16) AS snippet FROM articles_fts "
                "JOIN articles a ON a.id = articles_fts.rowid WHERE articles_fts MATCH ? "
                "ORDER BY bm25(articles_fts, 10.0, 1.0, 4.0) LIMIT ?",
                [_OPEN, _CLOSE, _OPEN, _CLOSE, query, limit])
            return [{"id": r["id"], "tags": r["tags"], "title_html": marked(r["title"]),
                     "snippet_html": marked(r["snippet"])} for r in rows]
