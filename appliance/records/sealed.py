"""AES-GCM, the one seal of the box's files: the daemon's lines that hold a caller's number (answer journal, call
journal, texts) with the box's privacy key, and the web's backups (web/sealed.py) with a passphrase's key.

The library is pycryptodomex (`Cryptodome`), imported only when something is sealed or opened: an idle daemon
does neither and never holds it. It is loaded (`_library`) without what it imports for paths AES-GCM never takes
(ctypes.util with the process and archive modules, platform, and Util.number's table of primes): in the box's
interpreter it then costs ~0.5-0.6 MB resident from the first seal on (its ctypes binding and eight small C
modules; 2.1 MB as the library loads itself, and a fork of `file` at the first seal; docs/proof.md, "Issue 18,
ninth session: firstcall"), where `cryptography` cost ~9.9 MB (its Rust binding links a whole OpenSSL; "Issue 18,
sixth session: crypto"). The bytes are standard GCM, a 96-bit nonce and a 16-byte tag after the ciphertext, so
everything sealed by either library opens with the other.
"""

from __future__ import annotations

import base64
import contextlib
import os
import struct
import sys
import threading
import types
from collections.abc import Iterator
from typing import Any

from ..digest import hmac_sha256

NONCE = 12  # bytes: GCM's standard nonce
TAG = 16  # bytes, after the ciphertext


_aes: Any = None  # Cryptodome.Cipher.AES, imported by the first seal or open (not each time: ~1 us a seal)
_loading = threading.Lock()  # the first seals of two threads (a line's reader, the event loop) load it once


def _library() -> Any:
    """Cryptodome.Cipher.AES with its GCM mode, imported with stand-ins for two modules it needs little of.

    Its ctypes binding (Util/_raw_api.py) imports ctypes.util, with shutil, subprocess, tempfile, bz2, lzma and
    locale, for find_library, which it calls for a library named without a path, never for its own C modules
    (loaded by path); the stand-in's find_library imports the real one if called. The binding's first load asks
    platform.architecture(), which runs `file` on the interpreter, only to tell Windows' DLLs from the rest: its
    answer is given instead. Of Util.number the modes take long_to_bytes and bytes_to_long; the module also builds
    a table of 10,000 primes. The stand-ins are in sys.modules only while these modules import (a thread importing
    one of them meanwhile gets the stand-in; in the daemon, none does)."""
    global _aes
    with _loading:
        if _aes is None:
            with _standing_in(
                _stand_in("ctypes.util", find_library=_find_library),
                _stand_in("Cryptodome.Util.number", long_to_bytes=_long_to_bytes, bytes_to_long=_bytes_to_long),
            ):
                from Cryptodome.Util import _raw_api

                known = getattr(_raw_api, "cached_architecture", None)  # platform.architecture(), once asked
                if isinstance(known, list) and not known and not sys.platform.startswith("win"):
                    known[:] = [f"{8 * struct.calcsize('P')}bit", "ELF"]
                # and the modules a GCM cipher imports when first made (its CTR and ECB parts), with the stand-ins
                from Cryptodome.Cipher import AES, _mode_ctr, _mode_ecb, _mode_gcm  # noqa: F401

            _aes = AES
    return _aes


def _stand_in(name: str, **names: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(names)
    return module


@contextlib.contextmanager
def _standing_in(*modules: types.ModuleType) -> Iterator[None]:
    placed = [m for m in modules if sys.modules.setdefault(m.__name__, m) is m]  # not one already imported
    try:
        yield
    finally:
        for module in placed:
            if sys.modules.get(module.__name__) is module:
                del sys.modules[module.__name__]


def _find_library(name: str) -> str | None:
    from ctypes.util import find_library

    return find_library(name)


def _long_to_bytes(n: int, blocksize: int = 0) -> bytes:
    """Util.number's: big-endian, minimal (one byte for 0), zeros added before it to a multiple of blocksize."""
    if n < 0 or blocksize < 0:
        raise ValueError("Values must be non-negative")
    size = max(1, (n.bit_length() + 7) // 8)
    return n.to_bytes(-(-size // blocksize) * blocksize if blocksize else size, "big")


def _bytes_to_long(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _cipher(key: bytes, nonce: bytes, associated: bytes) -> Any:
    aes = _aes or _library()
    cipher = aes.new(key, aes.MODE_GCM, nonce=nonce, mac_len=TAG)
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
    _library()  # the binding without ctypes.util and platform (KDF imports Util.number itself)
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
