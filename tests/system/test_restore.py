"""Restore from the web page: checked before it replaces anything, swapped atomically, never loses the log."""

from __future__ import annotations

import contextlib
import io
import re
import sqlite3
import tarfile
from pathlib import Path

import pytest

from appliance import config as configuration
from appliance.cli import main as hotline
from tests.support import backups
from tests.support.boxes import simulated_box
from tests.support.calls import add_calls, call_ids
from tests.support.status import loop_status
from tests.support.web import csrf_token, set_up
from web import create_app


def admin_client(data: Path, daemon) -> object:
    client = create_app(data, control_path=daemon.control_path).test_client()
    set_up(client, data)
    return client


def restore(client, blob: bytes):
    return client.post("/backup/restore", data={"csrf_token": csrf_token(client.get("/backup").text), "replace": "yes",
                                                "passphrase": backups.PASSPHRASE,
                                                "backup": (io.BytesIO(blob), "hotline-backup.tar.gz")})


def with_member(blob: bytes, name: str, data: bytes) -> bytes:
    """The backup with one member's content replaced."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(blob)) as src, tarfile.open(fileobj=out, mode="w:gz") as dst:
        for info in src.getmembers():
            content = data if info.name == name else src.extractfile(info).read()
            info.size = len(content)
            dst.addfile(info, io.BytesIO(content))
    return out.getvalue()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    add_calls(data, [f"call-{n}" for n in range(5)])
    return data


@pytest.mark.parametrize("member", ["calls.db", "web.db"])
@pytest.mark.parametrize("garbage", [b"garbage " * 512, b""], ids=["garbage", "empty"])
def test_a_backup_with_a_bad_database_is_refused_and_changes_nothing(data: Path, member: str,
                                                                     garbage: bytes) -> None:
    with simulated_box(data) as (daemon, _):
        client = admin_client(data, daemon)
        blob = backups.opened(backups.download(client))  # a plain tar.gz is still restored (older backups)
        users = [u["username"] for u in client.application.extensions["web_store"].users()]
        reply = restore(client, with_member(blob, member, garbage))
        assert reply.status_code == 400
        assert f"the backup&#39;s {member} is not an SQLite database; nothing was restored" in reply.text
        assert not (data / "calls.db.restore").exists()
        assert [u["username"] for u in client.application.extensions["web_store"].users()] == users
    with simulated_box(data) as (daemon, _):  # the box starts again, with every call it had
        assert loop_status(daemon)["alarms"] == []
    assert call_ids(data) == [f"call-{n}" for n in range(5)]


def test_a_damaged_restore_file_is_not_used_and_the_box_starts_with_its_log(
        data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A power cut while an older box wrote the restore file: the first half of a good database.
    good = tmp_path / "other"
    good.mkdir()
    add_calls(good, ["restored-1"])
    with contextlib.closing(sqlite3.connect(good / "calls.db")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    whole = (good / "calls.db").read_bytes()
    (data / "calls.db.restore").write_bytes(whole[: len(whole) // 2])
    with simulated_box(data) as (daemon, _):
        alarms = loop_status(daemon)["alarms"]
        assert [a["id"] for a in alarms] == ["start.restore"]
        assert "the call log restored from a backup was not used" in alarms[0]["text"]
        assert "The call log in use is unchanged" in alarms[0]["text"]
        refused = re.search(r"kept as (\S+)$", alarms[0]["text"]).group(1)
        assert (data / refused).read_bytes() == whole[: len(whole) // 2]
        # The dashboard shows it (its poll reads this status), and `hotline check` prints it.
        dashboard = admin_client(data, daemon).get("/api/dashboard").get_json()
        assert [a["id"] for a in dashboard["status"]["alarms"]] == ["start.restore"]
        config = tmp_path / "hotline.toml"
        config.write_text((Path(configuration.__file__).parent / "defaults/simulate.toml").read_text())
        assert hotline(["check", "--config", str(config), "--data", str(data), "--no-hardware"]) == 1
        assert "alarm start.restore (warning): the call log restored from a backup was not used" in \
            capsys.readouterr().out
    assert call_ids(data) == [f"call-{n}" for n in range(5)]
    assert not (data / "calls.db.restore").exists()


def test_a_good_restore_replaces_the_log_at_the_next_start_and_leaves_nothing_behind(data: Path) -> None:
    with simulated_box(data) as (daemon, _):
        client = admin_client(data, daemon)
        blob = backups.download(client)
        add_calls(data, ["after-backup-1", "after-backup-2"])
        reply = restore(client, blob)
        assert reply.status_code == 302
        assert (data / "calls.db.restore").exists()
    with simulated_box(data) as (daemon, _):
        assert loop_status(daemon)["alarms"] == []
    assert call_ids(data) == [f"call-{n}" for n in range(5)]
    assert sorted(p.name for p in data.glob("calls.db*")) in (["calls.db"], ["calls.db", "calls.db-shm",
                                                                             "calls.db-wal"])
