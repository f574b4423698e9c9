"""Signing in does not leave the web process bigger: each password hash's 8 MiB goes back when it is done."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A fresh web process's store; sign-ins on four threads one after another, as waitress serves them.
SIGN_INS = """
import sys, threading
sys.path.insert(0, {repo!r})
from web.store import WebStore

def rss_mb():
    status = open("/proc/self/status").read()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024

store = WebStore({db!r})
store.add_user("admin", "a long enough password", "admin")
before = rss_mb()
for round in range(3):
    for _ in range(4):
        signer = threading.Thread(target=store.authenticate, args=("admin", "a long enough password"))
        signer.start()
        signer.join()
print(rss_mb() - before)
"""


def test_sign_ins_on_several_threads_leave_no_hash_memory_behind(tmp_path):
    script = SIGN_INS.format(repo=str(REPO), db=str(tmp_path / "web.db"))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    grown = float(out.stdout.strip().splitlines()[-1])
    assert grown < 8, f"the process kept {grown:.0f} MB after 12 sign-ins (one hash takes 8 MiB)"
