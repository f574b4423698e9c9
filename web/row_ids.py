"""Row ids in URLs: an <int:...> part of any route matches only a number SQLite can hold.

Werkzeug's own int converter takes any number of digits, so /kb/99999999999999999999999 reached the view
and failed in sqlite3 (OverflowError, a 500). A number beyond a 64-bit signed integer names no row: with this
converter such a URL matches no route and is a plain 404, for every route at once.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

SQLITE_MAX_INTEGER = 2**63 - 1


class RowId(IntegerConverter):
    """Werkzeug's int converter, bounded to SQLite's INTEGER unless a rule gives its own max."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = SQLITE_MAX_INTEGER, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def install(app: Flask) -> None:
    """Before any blueprint is registered: a rule's converters are chosen when it joins the URL map."""
    app.url_map.converters["int"] = RowId
