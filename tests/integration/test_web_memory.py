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


# A fresh web process served by waitress with 16 threads, from before its first request: 16 clients at once
# (each thread that allocates under contention gets a glibc heap of its own unless the app keeps one).
THREADS = """
import sys, threading, http.client
sys.path.insert(0, {repo!r})
from waitress.server import create_server
from web import create_app

def rss_mb():
    return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) / 1024

app = create_app({data!r}, control_path={data!r} + "/none.sock")
server = create_server(app, host="127.0.0.1", port=0, threads=16)
threading.Thread(target=server.run, daemon=True).start()
port = server.socket.getsockname()[1]

def ask():
    for _ in range(20):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/setup")
        conn.getresponse().read()
        conn.close()

before = rss_mb()
clients = [threading.Thread(target=ask) for _ in range(16)]
for client in clients:
    client.start()
for client in clients:
    client.join()
print(rss_mb() - before)
"""


def test_the_server_threads_share_one_heap_rather_than_keep_one_each(tmp_path):
    script = THREADS.format(repo=str(REPO), data=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    grown = float(out.stdout.strip().splitlines()[-1])
    assert grown < 6, f"16 server threads kept {grown:.1f} MB more (a heap each keeps ~0.7 MB)"
