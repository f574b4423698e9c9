"""Sealing a line with the box's privacy key (AES-GCM), for files that must hold a caller's number on disk.

The key is derived from the box's secret and a label per file, so no two kinds of file share one. cryptography
is imported only when a line is sealed or opened: an idle daemon does neither and never holds it in memory.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from ..digest import hmac_sha256


class Seal:
    def __init__(self, secret: bytes, label: bytes) -> None:
        self._key = hmac_sha256(secret, label)
        self._cipher: Any = None  # AESGCM, made once at the first seal (its key set-up is half a seal's cost)

    def seal(self, plain: bytes) -> bytes:
        """One line of text (no newline in it): nothing of `plain` is readable in it."""
        if self._cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._cipher = AESGCM(self._key)
        nonce = os.urandom(12)
        return base64.urlsafe_b64encode(nonce + self._cipher.encrypt(nonce, plain, None))

    def open(self, line: bytes) -> bytes:
        """What `seal` was given; ValueError for a torn line or one sealed with another key."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            raw = base64.urlsafe_b64decode(line)
            return AESGCM(self._key).decrypt(raw[:12], raw[12:], None)
        except (InvalidTag, ValueError, TypeError) as exc:
            raise ValueError(str(exc) or "not sealed with this box's key") from None
