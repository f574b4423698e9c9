"""An uploaded backup is untrusted: bounded in members, sizes and memory, and its recordings must be audio
(issue 15, finding 12: a 599 KB archive peaked at 686 MB of memory; uploads were not type-checked).

The limits are documented in docs/security.md."""

from __future__ import annotations

import io
import json
import tarfile
import tracemalloc

import pytest

from web import backup
from web.backup import RestoreError, manifest, read_backup

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(28)


class Zeros(io.RawIOBase):
    """`size` zero bytes, made as they are read (an archive member that compresses to almost nothing)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def archive(members: list[tuple[str, int | bytes]], **options) -> io.BytesIO:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", **options) as tar:
        tar.addfile(_info("manifest.json", len(m := json.dumps(manifest()).encode())), io.BytesIO(m))
        for name, content in members:
            if isinstance(content, int):
                tar.addfile(_info(name, content), Zeros(content))
            else:
                tar.addfile(_info(name, len(content)), io.BytesIO(content))
    out.seek(0)
    return out


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


def test_a_large_member_is_unpacked_to_disk_not_memory(tmp_path):
    blob = archive([("calls.db", 120 * 1024 * 1024)])  # 120 MB of zeros, ~120 KB packed
    tracemalloc.start()
    try:
        with pytest.raises(RestoreError, match="calls.db is not an SQLite database"):
            read_backup(blob, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"reading the backup took {peak // 2**20} MB of memory"


def test_too_many_members_too_large_a_member_or_total_are_refused(tmp_path, monkeypatch):
    many = archive([(f"uploads/p{n}.wav", WAV) for n in range(backup.MAX_MEMBERS + 1)])
    with pytest.raises(RestoreError, match=f"more than {backup.MAX_MEMBERS} files"):
        read_backup(many, tmp_path / "many")
    big = archive([("uploads/greeting.wav", backup.MAX_UPLOAD + 1)])
    with pytest.raises(RestoreError, match="greeting.wav in the backup is 20,000,001 bytes, more than the 20,000,000"):
        read_backup(big, tmp_path / "big")
    monkeypatch.setattr(backup, "MAX_TOTAL", 10 * 1024 * 1024)
    total = archive([("calls.db", 6 * 1024 * 1024), ("web.db", 6 * 1024 * 1024)])
    with pytest.raises(RestoreError, match="unpacks to more than 10 MB"):
        read_backup(total, tmp_path / "total")


def test_a_huge_member_header_is_refused_before_it_is_read(tmp_path):
    blob = archive([("config.toml", b"")], format=tarfile.PAX_FORMAT, pax_headers={"comment": "x" * 200_000})
    with pytest.raises(RestoreError, match="member header"):
        read_backup(blob, tmp_path)


@pytest.mark.parametrize("content", [b"#!/bin/sh\nrm -rf /\n", b"<script>alert(1)</script>", b""])
def test_a_recording_in_a_backup_must_be_audio(tmp_path, content):
    blob = archive([("uploads/greeting.wav", WAV), ("uploads/greeting2.wav", content)])
    with pytest.raises(RestoreError, match="uploads/greeting2.wav in the backup is not a WAV, MP3, OGG or FLAC"):
        read_backup(blob, tmp_path)
    assert read_backup(archive([("uploads/greeting.wav", WAV)]), tmp_path / "good")["uploads/greeting.wav"]
