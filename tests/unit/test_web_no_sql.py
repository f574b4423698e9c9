"""web/ runs no SQL on calls.db: its lists come from the store's read model (appliance/records/store)."""

from __future__ import annotations

import re
from pathlib import Path

import sqlite_utils

from appliance.records.store import migrations

ROOT = Path(__file__).resolve().parents[2]


def calls_db_tables() -> set[str]:
    db = sqlite_utils.Database(memory=True)
    migrations.migrate(db)
    return set(db.table_names()) | set(db.view_names())


def test_no_web_module_queries_a_calls_db_table() -> None:
    tables = "|".join(sorted(map(re.escape, calls_db_tables())))
    statement = re.compile(rf"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+({tables})\b")  # SQL keywords are upper case here
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in sorted((ROOT / "web").rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if statement.search(line)]
    assert found == [], "web/ must ask the store's read model, not run SQL on calls.db:\n" + "\n".join(found)


def test_the_check_sees_the_tables_it_guards() -> None:
    """Guard against a check that cannot fail: the schema it reads has the inbox tables."""
    assert {"calls", "voicemails", "sms", "callbacks"} <= calls_db_tables()
