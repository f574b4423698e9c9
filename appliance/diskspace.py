"""Free space on the data filesystem: the database, the journal, prompts and voicemail all live there."""

from __future__ import annotations

import os
from pathlib import Path

MB = 1024 * 1024


def free_space(path: str | Path) -> tuple[int, int]:
    """(bytes free to this process, bytes in the filesystem) of the filesystem holding `path`."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize


def low_space(path: str | Path, warn_mb: float, warn_percent: float) -> str | None:
    """Words for an admin when free space is under either threshold (whichever is larger), else None."""
    free, total = free_space(path)
    threshold = max(warn_mb * MB, total * warn_percent / 100)
    if free >= threshold:
        return None
    return (f"the data disk ({path}) has {free / MB:.1f} MB free of {total / MB:.0f} MB (warning below "
            f"{threshold / MB:.0f} MB): when it is full, call records wait in memory until space is freed")
