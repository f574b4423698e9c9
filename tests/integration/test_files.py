"""Files the box writes (keys, tokens, the applied config, restores) are whole or absent, never half-written."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.files import atomic_write
from appliance.records.privacy import load_secret
from web.security import secret_file


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MB filesystem (tmpfs) for the data directory; root only, as in CI."""
    mount = tmp_path / "data"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "hotline-test", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(directory: Path) -> Path:
    filler = directory / "filler.bin"
    with open(filler, "ab", buffering=0) as out:
        for size in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    out.write(bytes(size))
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


def test_a_failed_write_keeps_the_old_file_and_leaves_no_scratch(small_disk: Path) -> None:
    config = small_disk / "config.toml"
    atomic_write(config, "[box]\nname = 'old'\n")
    fill(small_disk)
    with pytest.raises(OSError) as failure:
        atomic_write(config, "[box]\nname = 'new'\n" + "#" * 8192)
    assert failure.value.errno == errno.ENOSPC
    assert config.read_text() == "[box]\nname = 'old'\n"
    assert sorted(p.name for p in small_disk.iterdir()) == ["config.toml", "filler.bin"]


def test_a_key_made_on_a_full_disk_leaves_no_half_key_behind(small_disk: Path) -> None:
    filler = fill(small_disk)
    with pytest.raises(OSError):
        load_secret(small_disk)
    # Nothing half-made that would stop every later start ("shorter than 16 bytes").
    assert not (small_disk / "privacy.key").exists()
    filler.unlink()
    secret = load_secret(small_disk)
    assert len(secret) == 32 and load_secret(small_disk) == secret
    assert (small_disk / "privacy.key").stat().st_mode & 0o777 == 0o600


def test_a_token_made_on_a_full_disk_is_made_whole_once_there_is_room(small_disk: Path) -> None:
    filler = fill(small_disk)
    with pytest.raises(OSError):
        secret_file(small_disk / "api-token")
    assert not (small_disk / "api-token").exists()
    filler.unlink()
    token = secret_file(small_disk / "api-token")
    assert secret_file(small_disk / "api-token") == token
    assert (small_disk / "api-token").stat().st_mode & 0o777 == 0o600


def test_an_exclusive_write_never_replaces_what_another_process_made(tmp_path: Path) -> None:
    key = tmp_path / "privacy.key"
    assert atomic_write(key, "first\n", exclusive=True)
    assert not atomic_write(key, "second\n", exclusive=True)
    assert key.read_text() == "first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["privacy.key"]


def test_a_replaced_file_keeps_its_permissions_when_asked(tmp_path: Path) -> None:
    boot = tmp_path / "config.txt"
    boot.write_text("dtparam=audio=on\n")
    boot.chmod(0o640)
    atomic_write(boot, "dtparam=audio=on\ngpio=5=op,dl\n", mode=None)
    assert boot.read_text().endswith("gpio=5=op,dl\n")
    assert boot.stat().st_mode & 0o777 == 0o640
    atomic_write(tmp_path / "new.txt", "x", mode=None)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o644
