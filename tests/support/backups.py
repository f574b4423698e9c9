"""A backup as the admin takes it from the web page (sealed with a passphrase), and opened again."""

from __future__ import annotations

import io
import re

from web import sealed

PASSPHRASE = "a long passphrase"


def download(client, *, audio: bool = False) -> bytes:
    """The sealed backup the Backup page's form gives."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/backup").text).group(1)
    reply = client.post("/backup/download", data={"csrf_token": token, "passphrase": PASSPHRASE,
                                                  "passphrase2": PASSPHRASE, **({"audio": "yes"} if audio else {})})
    assert reply.status_code == 200, reply.text[:500]
    return reply.data


def opened(blob: bytes) -> bytes:
    """The tar.gz inside a sealed backup."""
    return b"".join(sealed.unseal(io.BytesIO(blob), PASSPHRASE))
