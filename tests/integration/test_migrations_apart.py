"""Schema migrations run in a forked child, so the daemon never holds sqlite-utils and what it brings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A fresh interpreter (pytest's own may hold sqlite-utils already, which keeps the steps in-process).
MIGRATE = """
import json, sqlite3, sys
sys.path.insert(0, {repo!r})
from appliance.records.store import migrations
from appliance.records.store.lite import Database

def broken(db):
    db.execute("CREATE TABLE half (x)")
    db.execute("SELECT * FROM no_such_table")

db = Database(sqlite3.connect({path!r}))
steps = migrations.MIGRATIONS[:2] + ([broken] if {broken} else [])
try:
    version, error = migrations.migrate(db, steps), None
except sqlite3.DatabaseError as exc:
    version, error = None, str(exc)
tables = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
print(json.dumps({{"version": version, "error": error, "tables": tables,
                  "loaded": sorted(set(sys.modules) & {{"sqlite_utils", "click", "pluggy", "dateutil", "email"}})}}))
"""


def migrate(path: Path, broken: bool) -> dict:
    script = MIGRATE.format(repo=str(REPO), path=str(path), broken=broken)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_steps_are_applied_and_sqlite_utils_stays_out_of_the_process(tmp_path):
    done = migrate(tmp_path / "calls.db", broken=False)
    assert done["version"] == 2 and {"calls", "call_events", "schema_migrations"} <= set(done["tables"])
    assert done["loaded"] == []


def test_a_failed_step_is_raised_as_a_database_error_and_rolled_back(tmp_path):
    path = tmp_path / "calls.db"
    failed = migrate(path, broken=True)
    assert failed["version"] is None and "no_such_table" in failed["error"]
    assert "half" not in failed["tables"]  # the failed step left nothing behind
    assert {"calls", "call_events"} <= set(failed["tables"])  # the steps before it stay applied


# The steps where a first start makes the schemas (the schema child, service/schemas_ahead.py): in-process.
SCANS = """
import importlib.metadata, json, sqlite3, sys
sys.path.insert(0, {repo!r})
from appliance.records.store import migrations
from appliance.records.store.lite import Database

scans = []
every_package = importlib.metadata.distributions
importlib.metadata.distributions = lambda **kw: scans.append(kw) or every_package(**kw)
migrations.migrate(Database(sqlite3.connect({path!r})), here=True)
print(json.dumps({{"scans": len(scans)}}))
"""


def test_making_the_schemas_does_not_scan_every_installed_package_for_plugins(tmp_path):
    """sqlite-utils looks for its plugins in every installed package's entry points (~14 ms of a first start's
    CPU, in the child the daemon waits for); the steps use no plugin."""
    script = SCANS.format(repo=str(REPO), path=str(tmp_path / "calls.db"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"scans": 0}
