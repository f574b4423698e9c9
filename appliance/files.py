"""Every file the box writes is written whole or not at all.

A power cut is the normal way a Pi stops, so a file is written beside its final name, flushed to the
card, renamed over the old one and the directory flushed too: after a cut either the old file or the
new one is there, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def fsync_dir(directory: str | Path) -> None:
    """Make a rename or removal in `directory` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, data: bytes | str, *, mode: int | None = 0o600, exclusive: bool = False) -> bool:
    """Write `data` to `path` atomically (temporary file, fsync, rename, fsync of the directory).

    mode=None keeps the permissions of the file replaced (0644 for a new one), where the filesystem has
    any: the Pi's FAT boot partition has none. exclusive=True never replaces an existing file (the first
    writer of a key wins, even between two processes): returns False, writing nothing, when `path`
    already exists. Otherwise returns True.
    """
    path = Path(path)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    fd, scratch = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
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
