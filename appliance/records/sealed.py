"""AES-GCM, the one seal of the box's files: the daemon's lines that hold a caller's number (answer journal, call
journal, texts) with the box's privacy key, and the web's backups (web/sealed.py) with a passphrase's key.

The library is pycryptodomex (`Cryptodome`), imported only when something is sealed or opened: an idle daemon
does neither and never holds it. In the box's interpreter it costs ~1.6 MB resident from the first seal on
(its ctypes binding and eight small C modules), where `cryptography` cost ~9.9 MB (its Rust binding links a whole
OpenSSL; docs/proof.md, "Issue 18, sixth session: crypto"). The bytes are standard GCM, a 96-bit nonce and a
16-byte tag after the ciphertext, so everything sealed by either library opens with the other.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from ..digest import hmac_sha256

NONCE = 12  # bytes: GCM's standard nonce
TAG = 16  # bytes, after the ciphertext


_aes: Any = None  # Cryptodome.Cipher.AES, imported by the first seal or open (not each time: ~1 us a seal)


def _cipher(key: bytes, nonce: bytes, associated: bytes) -> Any:
    global _aes
    if _aes is None:
        from Cryptodome.Cipher import AES

        _aes = AES
    cipher = _aes.new(key, _aes.MODE_GCM, nonce=nonce, mac_len=TAG)
    cipher.update(associated)
    return cipher


def gcm_seal(key: bytes, nonce: bytes, plain: bytes, associated: bytes = b"") -> bytes:
    """The ciphertext with its tag after it. `associated` is authenticated, not sealed."""
    sealed, tag = _cipher(key, nonce, associated).encrypt_and_digest(plain)
    return sealed + tag


def gcm_open(key: bytes, nonce: bytes, sealed: bytes, associated: bytes = b"") -> bytes:
    """What `gcm_seal` was given; ValueError when the tag does not match (another key, or altered bytes)."""
    if len(nonce) != NONCE or len(sealed) < TAG:
        raise ValueError("not sealed with this box's key")
    try:
        return _cipher(key, nonce, associated).decrypt_and_verify(sealed[:-TAG], sealed[-TAG:])
    except ValueError:  # pycryptodome's "MAC check failed"
        raise ValueError("not sealed with this box's key") from None


def scrypt_key(passphrase: bytes, salt: bytes, n: int, r: int) -> bytes:
    """A 32-byte key from a passphrase (scrypt, p = 1): the same bytes as OpenSSL's, without loading OpenSSL
    (~3.9 MB resident against ~0.4 MB here; its n * r * 128 bytes of work memory are given back after)."""
    from Cryptodome.Protocol.KDF import scrypt

    return scrypt(passphrase, salt, 32, N=n, r=r, p=1)  # type: ignore[return-value]  # one key when num_keys is 1


class Seal:
    """One line of a file sealed with the box's secret; the key is derived from it and a label per file, so no
    two kinds of file share one."""

    def __init__(self, secret: bytes, label: bytes) -> None:
        self._key = hmac_sha256(secret, label)

    def seal(self, plain: bytes) -> bytes:
        """One line of text (no newline in it): nothing of `plain` is readable in it."""
        nonce = os.urandom(NONCE)
        return base64.urlsafe_b64encode(nonce + gcm_seal(self._key, nonce, plain))

    def open(self, line: bytes) -> bytes:
        """What `seal` was given; ValueError for a torn line or one sealed with another key."""
        try:
            raw = base64.urlsafe_b64decode(line)
        except (ValueError, TypeError) as exc:
            raise ValueError(str(exc) or "not sealed with this box's key") from None
        return gcm_open(self._key, raw[:NONCE], raw[NONCE:])
