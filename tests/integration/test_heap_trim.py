"""What a process freed inside glibc's heap goes back to the system when the daemon trims it after its last call."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# A fresh interpreter fills its heap with 40 MB of blocks (each too big for Python's own allocator, too small to be
# mapped apart), then frees all but the last: the free space lies below a block still held, so glibc keeps it.
HOLES = """
import sys
sys.path.insert(0, {repo!r})
from appliance.service import heap

def rss_mb():
    status = open("/proc/self/status").read()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024

blocks = [bytes(range(256)) * 4 + bytes([n % 256]) for n in range(40_000)]
held = blocks[-1]
del blocks
before = rss_mb()
heap.trim()
print(before - rss_mb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
                    reason="malloc_trim is glibc's")
def test_a_trim_gives_the_heaps_free_pages_back():
    out = subprocess.run([sys.executable, "-c", HOLES.format(repo=str(REPO))], capture_output=True, text=True,
                         timeout=60, check=True)
    given_back = float(out.stdout.strip().splitlines()[-1])
    assert given_back > 20, f"the trim gave back {given_back:.1f} MB of the 40 MB freed"
