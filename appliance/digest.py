"""SHA-256 and HMAC-SHA256 without OpenSSL, for the daemon's few short digests.

`hashlib` and `hmac` load OpenSSL's libcrypto when imported: 3.4 MB resident in a daemon whose only digests
are prompt cache names, caller pseudonyms, API token hashes and the answer journal's key (issue 18: 25 MB on
a Pi Zero). CPython's own SHA-256 gives the same digests; hashlib is the fallback for an interpreter built
without it (`--with-builtin-hashlib-hashes` not listing sha256).
"""

from __future__ import annotations

import base64
import os
from typing import Any

try:
    from _sha2 import sha256 as _sha256  # CPython 3.12 and later
except ImportError:
    try:
        from _sha256 import sha256 as _sha256  # CPython 3.11
    except ImportError:
        from hashlib import sha256 as _sha256

_BLOCK = 64  # SHA-256's block size in bytes (RFC 2104's B)
_INNER = bytes(x ^ 0x36 for x in range(256))
_OUTER = bytes(x ^ 0x5C for x in range(256))


def sha256(data: bytes = b"") -> Any:
    """A SHA-256 object (update, digest, hexdigest) as hashlib.sha256 gives."""
    return _sha256(data)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104), the same bytes as hmac.new(key, message, hashlib.sha256).digest()."""
    if len(key) > _BLOCK:
        key = _sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = _sha256(key.translate(_INNER) + message).digest()
    return _sha256(key.translate(_OUTER) + inner).digest()


def token_hex(nbytes: int) -> str:
    """Random hex text from the OS's generator (what secrets.token_hex does, without secrets' import of hmac)."""
    return os.urandom(nbytes).hex()


def token_urlsafe(nbytes: int) -> str:
    """Random URL-safe text, as secrets.token_urlsafe makes it."""
    return base64.urlsafe_b64encode(os.urandom(nbytes)).rstrip(b"=").decode("ascii")
