"""`hotline user list|reset-password NAME`: web users from a shell on the box, for a locked-out admin.

Run it as the service user so web.db keeps its owner:
    sudo -u hotline /opt/hotline/venv/bin/hotline user reset-password admin
The new password is read twice from the terminal (or once per line from a pipe); it ends every
session the user had.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from .store import WebStore


def _ask_password() -> str | None:
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            print("hotline user reset-password: the passwords differ; nothing changed", file=sys.stderr)
            return None
        return first
    return sys.stdin.readline().rstrip("\n")


def main(action: str, name: str | None, data: Path) -> int:
    if not (data / "web.db").exists():
        print(f"hotline user: no {data / 'web.db'}: is --data the box's data directory?", file=sys.stderr)
        return 1
    store = WebStore(data / "web.db")
    if action == "list":
        for user in store.users():
            print(f"{user['username']:<30} {user['role']}")
        return 0
    if not name:
        print("hotline user reset-password: name the user (hotline user list shows them)", file=sys.stderr)
        return 2
    user = store.user_by_name(name)
    if user is None:
        print(f"hotline user reset-password: no user {name!r} (hotline user list shows them)", file=sys.stderr)
        return 1
    password = _ask_password()
    if password is None:
        return 1
    try:
        store.update_user(user["id"], password=password)
    except ValueError as exc:
        print(f"hotline user reset-password: {exc}; nothing changed", file=sys.stderr)
        return 1
    print(f"new password set for {name}; every session they had has ended")
    return 0
