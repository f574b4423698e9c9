"""Password hashes are made and checked in a short-lived helper process, never in the web process.

scrypt needs OpenSSL (libcrypto, ~3.5 MB resident once loaded) and an 8 MiB block per hash; done in the web
process, both stayed for good and 100 sign-ins took it from 42 to 50 MB (bench/web_process.py). The helper is
a fixed program run by the web process's own interpreter in isolated mode (-I: no environment variables, no
current directory on its path); it takes its request (the password included) as JSON on its stdin pipe, never
in its arguments or environment, which other users of the box can read in /proc, answers on stdout and exits,
giving its memory back. werkzeug's own generate/check_password_hash do the work there, so the stored format
is werkzeug's as before and older hashes (pbkdf2, earlier scrypt parameters) still verify.

Cost: a Python start and werkzeug's import, ~0.1 s here (~1 s on a Pi Zero 2 W) on top of the hash itself.
A helper that cannot start, dies or hangs raises PasswordHelperError; the page says so (web/__init__.py).
"""

from __future__ import annotations

import functools
import json
import logging
import subprocess
import sys
import threading
from typing import Any

log = logging.getLogger("hotline.web")

# OWASP's scrypt row "N=2^13, r=8, p=10": as costly to crack as its N=2^17, p=1 minimum (the same N x p),
# but 8 MiB per hash (N x r x 128 bytes) instead of 128 MiB; werkzeug's default takes 32 MiB. About 0.2-0.4 s
# on a laptop core and about 1-2 s on a Pi Zero 2 W: slow for whoever tries passwords against a stolen SD
# card's web.db, bearable for one login (docs/security.md). Older hashes verify and are renewed.
PASSWORD_HASH = "scrypt:8192:8:10"
# At most this many helpers at once, so concurrent logins cannot take more than 2 x ~25 MB of the box's memory.
_HELPERS = threading.BoundedSemaphore(2)
TIMEOUT = 60.0  # seconds; a Pi under load hashes in 1-3 s
INTERPRETER = sys.executable  # the web process's own Python: the same werkzeug, the same venv

_PROGRAM = """
import json, sys
from werkzeug.security import check_password_hash, generate_password_hash
asked = json.load(sys.stdin)
method, password = asked["method"], asked["password"]
if asked["do"] == "make":
    answer = {"hash": generate_password_hash(password, method=method)}
else:
    ok = check_password_hash(asked["hash"], password)
    renew = ok and not asked["hash"].startswith(method + "$")
    answer = {"ok": ok, "renewed": generate_password_hash(password, method=method) if renew else None}
json.dump(answer, sys.stdout)
"""


class PasswordHelperError(RuntimeError):
    """The helper that makes and checks password hashes did not answer: nobody can sign in until it does."""


def make(password: str) -> str:
    """A new hash of the password, at today's parameters."""
    return str(_ask({"do": "make", "password": password})["hash"])


def check(stored: str, password: str) -> tuple[bool, str | None]:
    """(whether the password matches the stored hash, its hash at today's parameters if the stored one is older).

    The renewal comes from the same helper run: the one moment the password is known, no second start.
    """
    answer = _ask({"do": "check", "hash": stored, "password": password})
    return bool(answer["ok"]), answer["renewed"]


def check_nobody(password: str) -> None:
    """As long as checking a real user's password, for a user name that does not exist (no timing tell)."""
    check(_dummy_hash(), password)


@functools.cache
def _dummy_hash() -> str:
    """Made on the first unknown-user login, not at start: most starts never need it."""
    return make("not a password of anyone")


def _ask(request: dict[str, Any]) -> dict[str, Any]:
    request["method"] = PASSWORD_HASH
    with _HELPERS:
        try:
            done = subprocess.run([INTERPRETER, "-I", "-c", _PROGRAM], input=json.dumps(request).encode(),
                                  capture_output=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise PasswordHelperError(f"the password helper gave no answer in {TIMEOUT:.0f} s") from None
        except OSError as exc:
            raise PasswordHelperError(f"the password helper could not start ({INTERPRETER}: {exc})") from None
    if done.returncode != 0:
        # Its last line of error (a traceback's never holds the password: that came on stdin, not in code).
        said = (done.stderr.decode(errors="replace").strip().splitlines() or ["nothing"])[-1]
        how = f"was killed by signal {-done.returncode}" if done.returncode < 0 else f"exited {done.returncode}"
        raise PasswordHelperError(f"the password helper {how}: {said}")
    try:
        answer = json.loads(done.stdout)
    except ValueError:
        raise PasswordHelperError("the password helper's answer was not readable") from None
    if not isinstance(answer, dict):
        raise PasswordHelperError("the password helper's answer was not readable")
    return answer
