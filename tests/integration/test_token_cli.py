"""`hotline token`: per-client API tokens from the command line, accepted by the records API."""

from __future__ import annotations

import subprocess
import sys

from appliance.records.store.access import AccessStore


def hotline(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance.cli", *args], capture_output=True, text=True, timeout=60)


def test_a_token_is_shown_once_works_and_can_be_revoked(tmp_path):
    created = hotline("token", "create", "crm", "--data", str(tmp_path))
    assert created.returncode == 0
    token = created.stdout.strip()
    access = AccessStore(tmp_path / "access.db")
    try:
        assert access.verify(token) == {"client": "crm", "role": "operator"}
        stored = [str(value) for row in access.db.execute("SELECT * FROM api_tokens").fetchall() for value in row]
        assert token not in stored  # only its hash is kept
        assert "crm" in hotline("token", "list", "--data", str(tmp_path)).stdout
        assert hotline("token", "revoke", "crm", "--data", str(tmp_path)).returncode == 0
        assert access.verify(token) is None
    finally:
        access.close()


def test_bad_requests_are_refused_with_the_reason(tmp_path):
    assert "has no live token" in hotline("token", "revoke", "nobody", "--data", str(tmp_path)).stderr
    bad_role = hotline("token", "create", "crm", "--role", "god", "--data", str(tmp_path))
    assert bad_role.returncode == 1 and "role 'god'" in bad_role.stderr
    assert hotline("token", "create", "--data", str(tmp_path)).returncode == 2
