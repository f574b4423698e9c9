"""The one-time setup code: only someone who can read the box's journal, console or files may create the first admin.

While no user exists, the web process makes a random code, keeps it in data_dir/setup-code
(mode 0600, readable by the service user and root only), and prints it at start. The setup page
asks for it; `hotline setup-code` shows it to whoever has a shell on the box. It is removed
once the first admin exists.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from appliance.files import atomic_write

FILE_NAME = "setup-code"
# No 0/O, 1/I/L: read off a screen and typed by hand. 12 characters of 32 = 60 bits.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def read(data_dir: Path) -> str | None:
    try:
        return path(data_dir).read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None


def ensure(data_dir: Path) -> str:
    """The code, made now if there is none yet (atomically: two processes starting at once agree on one)."""
    code = read(data_dir)
    if code:
        return code
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    code = "-".join(raw[i:i + 4] for i in range(0, 12, 4))
    atomic_write(path(data_dir), code + "\n", exclusive=True)  # another process's code, if first, counts
    return read(data_dir) or code


def announce(data_dir: Path) -> None:
    """Print the code to stdout: under systemd that is the journal, and the unit copies it to the console."""
    code = ensure(data_dir)
    print(f"hotline: no admin yet. Setup code: {code} "
          f"(also shown by `hotline setup-code`; the first visit to the web page asks for it)", flush=True)


def matches(data_dir: Path, sent: str) -> bool:
    code = read(data_dir)
    typed = "".join(ch for ch in sent.upper() if ch.isalnum())
    return code is not None and hmac.compare_digest(typed.encode("utf-8", "replace"), code.replace("-", "").encode())


def forget(data_dir: Path) -> None:
    path(data_dir).unlink(missing_ok=True)
