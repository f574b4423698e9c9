"""What the calls freed, given back to the system once the box has no call left (docs/proof.md, "Issue 18, ninth
session: firstcall2").

Python and SQLite free what a call used into glibc's heap, and glibc hands back to the kernel only the free space
at the heap's top: the rest stayed resident for the daemon's life as holes between what it keeps (0.2-0.5 MB after
a first call, of a Pi Zero's 512 MB). malloc_trim(0) returns every whole free page of the heap. It runs when the last
call ends, on the loop (no caller waits on it then; a new RING is answered by its line's reader), and takes ~0.3 ms
here; the pages it returned are faulted in again by the next call's allocations.
"""

from __future__ import annotations

import os
from typing import Any

_libc: Any = None  # glibc, once the first trim found it; False where there is none


def trim() -> None:
    """malloc_trim(0) where the C library is glibc; other C libraries (musl) have no such call."""
    global _libc
    if _libc is None:
        _libc = _glibc()
    if _libc:
        _libc.malloc_trim(0)


def _glibc() -> Any:
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return False
    except (ValueError, OSError):  # no such name here: not glibc
        return False
    import ctypes  # already loaded in a box that sealed a number: the seal binds its C modules with it

    return ctypes.CDLL(None)
