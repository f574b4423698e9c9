"""Every file the box writes is written whole or not at all.

A power cut is the normal way a Pi stops, so a file is written beside its final name, flushed to the
card, renamed over the old one and the directory flushed too: after a cut either the old file or the
new one is there, never half of one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def fsync_dir(directory: str | Path) -> None:
    """Make a rename or removal in `directory` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def scratch_beside(path: str | Path, suffix: str) -> tuple[int, str]:
    """A new file `.<name>.<random><suffix>` next to `path`, open for writing, and its name: tempfile.mkstemp's
    way, without the tempfile module, which imports shutil and with it bz2 and lzma (~0.3 MB the daemon would
    hold for its months for a random name)."""
    path = Path(path)
    while True:
        scratch = str(path.parent / f".{path.name}.{os.urandom(6).hex()}{suffix}")
        try:
            return os.open(scratch, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600), scratch
        except FileExistsError:
            continue


def atomic_write(path: str | Path, data: bytes | str, *, mode: int | None = 0o600, exclusive: bool = False) -> bool:
    """Write `data` to `path` atomically (temporary file, fsync, rename, fsync of the directory).

    mode=None keeps the permissions of the file replaced (0644 for a new one), where the filesystem has
    any: the Pi's FAT boot partition has none. exclusive=True never replaces an existing file (the first
    writer of a key wins, even between two processes): returns False, writing nothing, when `path`
    already exists. Otherwise returns True.
    """
    path = Path(path)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    fd, scratch = scratch_beside(path, ".new")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
            out.flush()
            if mode is not None:
                os.fchmod(out.fileno(), mode)
            else:
                with contextlib.suppress(FileNotFoundError, PermissionError):
                    os.fchmod(out.fileno(), path.stat().st_mode & 0o7777 if path.exists() else 0o644)
            os.fsync(out.fileno())
        if exclusive:
            try:
                os.link(scratch, path)  # fails if the name exists: atomic create-if-absent
            except FileExistsError:
                return False
        else:
            os.replace(scratch, path)
        fsync_dir(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(scratch)
