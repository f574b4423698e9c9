"""AES-GCM, the one seal of the box's files: the daemon's lines that hold a caller's number (answer journal, call
journal, texts) with the box's privacy key, and the web's backups (web/sealed.py) with a passphrase's key.

GCM is composed here (NIST SP 800-38D, a 96-bit nonce) over pycryptodomex's (`Cryptodome`) C modules, bound with
ctypes at the first seal or open (an idle daemon does neither and never holds them): its AES block module
(`_raw_aesni` where the CPU has AES-NI, `_raw_aes` elsewhere, as on a Pi Zero 2 W), run by its ECB module, encrypts
the hash key's block, the tag's counter block and the message's counter blocks in one call; its GHASH module
(`_ghash_clmul` where the CPU multiplies carry-less, `_ghash_portable` elsewhere) authenticates; the counter mode's
XOR is one of Python's integers; the tag is compared in constant time. The library's own GCM (its ctypes binding's
Python side, its AES, ECB, CTR and GCM objects, BLAKE2s for its tag check, eight C modules) held 0.56 MB from the
first seal on in the box's interpreter, this 0.32 MB, 0.22 of it ctypes itself, which the heap's trim after a call
(service/heap.py) loads anyway (docs/proof.md, "Issue 18, tenth session: sealmin"); `cryptography` cost ~9.9 MB
("sixth session: crypto"). The bytes are standard GCM, the ciphertext with a 16-byte tag after it, so what either
library sealed opens here and the other way. The web's scrypt (backups) is the library's own.
"""

from __future__ import annotations

import base64
import contextlib
import os
import struct
import sys
import threading
import types
from _operator import _compare_digest  # hmac.compare_digest without OpenSSL's (hmac imports _hashlib)
from collections.abc import Iterator
from importlib.machinery import EXTENSION_SUFFIXES
from typing import Any, NamedTuple

from ..digest import hmac_sha256

NONCE = 12  # bytes: GCM's standard nonce
TAG = 16  # bytes, after the ciphertext
_BLOCKS = 2**32 - 2  # GCM's longest message, in 16-byte blocks: the 32-bit counter's


class _Modules(NamedTuple):
    """The C functions GCM needs, and the ctypes they are called with."""

    ctypes: Any
    start: Any  # AES_start_operation(key, key_len, void **cipher)
    stop: Any  # AES_stop_operation(cipher)
    ecb_start: Any  # ECB_start_operation(cipher, void **ecb): the ECB state owns the cipher from then on
    ecb_encrypt: Any  # ECB_encrypt(ecb, in, out, len), whole blocks (the block modules export no encrypt)
    ecb_stop: Any  # ECB_stop_operation(ecb), the cipher's stop with it
    expand: Any  # ghash_expand(h, void **tables)
    ghash: Any  # ghash(y_out, blocks, len, y_in, tables)
    destroy: Any  # ghash_destroy(tables)


_modules: _Modules | None = None  # loaded by the first seal or open (not each time)
_loading = threading.Lock()  # the first seals of two threads (a line's reader, the event loop) load them once


def _load() -> _Modules:
    global _modules
    with _loading:
        if _modules is None:
            import ctypes

            import Cryptodome  # only to find its C modules: the package's __init__ imports nothing

            folder = os.path.dirname(Cryptodome.__file__)
            aesni, clmul = _module(folder, "Cipher", "_raw_aesni"), _module(folder, "Hash", "_ghash_clmul")
            if aesni or clmul:  # built where the compiler had the instructions: used where the CPU has them too
                cpu = ctypes.CDLL(_module(folder, "Util", "_cpuid_c", needed=True))
                aesni, clmul = aesni if cpu.have_aes_ni() else None, clmul if cpu.have_clmul() else None
            aes = ctypes.CDLL(aesni or _module(folder, "Cipher", "_raw_aes", needed=True))
            ecb = ctypes.CDLL(_module(folder, "Cipher", "_raw_ecb", needed=True))
            ghash = ctypes.CDLL(clmul or _module(folder, "Hash", "_ghash_portable", needed=True))
            block, mult = "AESNI" if aesni else "AES", "clmul" if clmul else "portable"
            _modules = _Modules(ctypes, getattr(aes, f"{block}_start_operation"),
                                getattr(aes, f"{block}_stop_operation"), ecb.ECB_start_operation, ecb.ECB_encrypt,
                                ecb.ECB_stop_operation, getattr(ghash, f"ghash_expand_{mult}"),
                                getattr(ghash, f"ghash_{mult}"), getattr(ghash, f"ghash_destroy_{mult}"))
    return _modules


def _module(folder: str, package: str, name: str, needed: bool = False) -> str | None:
    """The path of one of the library's C modules; None if it was not built (AES-NI, CLMUL off x86)."""
    for suffix in EXTENSION_SUFFIXES:
        path = os.path.join(folder, package, name + suffix)
        if os.path.isfile(path):
            return path
    if needed:
        raise OSError(f"pycryptodomex's {package}.{name} is not installed")
    return None


def _aes(c: _Modules, key: bytes, blocks: bytes) -> bytes:
    """`blocks` (whole 16-byte blocks) each encrypted with `key` (16, 24 or 32 bytes)."""
    cipher, ecb = c.ctypes.c_void_p(), c.ctypes.c_void_p()
    if c.start(key, c.ctypes.c_size_t(len(key)), c.ctypes.byref(cipher)):
        raise ValueError("AES keys are 16, 24 or 32 bytes")
    if c.ecb_start(cipher, c.ctypes.byref(ecb)):
        c.stop(cipher)
        raise ValueError("AES failed")
    try:
        out = c.ctypes.create_string_buffer(len(blocks))
        if c.ecb_encrypt(ecb, blocks, out, c.ctypes.c_size_t(len(blocks))):
            raise ValueError("AES failed")
        return out.raw
    finally:
        c.ecb_stop(ecb)


def _ghash(c: _Modules, h: bytes, blocks: bytes) -> bytes:
    """GHASH of whole 16-byte blocks under the hash key `h`."""
    tables = c.ctypes.c_void_p()
    if c.expand(h, c.ctypes.byref(tables)):
        raise ValueError("GHASH failed")
    try:
        out = c.ctypes.create_string_buffer(16)
        if c.ghash(out, blocks, c.ctypes.c_size_t(len(blocks)), bytes(16), tables):
            raise ValueError("GHASH failed")
        return out.raw
    finally:
        c.destroy(tables)


def _gcm(key: bytes, nonce: bytes, data: bytes, associated: bytes, opening: bool = False) -> tuple[bytes, bytes]:
    """`data` XOR-ed with GCM's key stream (the ciphertext of a plain text, the plain text of a ciphertext when
    `opening`), and the tag of the ciphertext."""
    if len(nonce) != NONCE:
        raise ValueError("the nonce is 12 bytes")
    c = _modules or _load()
    count = -(-len(data) // 16)
    if count > _BLOCKS:
        raise ValueError("too long for one GCM message")
    # the counter blocks: the nonce and a 32-bit big-endian count, 1 for the tag's, 2... for the message's
    counters = bytearray((nonce + bytes(4)) * (count + 1))
    counts = struct.pack(f">{count + 1}I", *range(1, count + 2))
    for i in range(4):
        counters[12 + i::16] = counts[i::4]
    stream = _aes(c, key, bytes(16) + counters)  # the hash key H = AES(0), the tag's mask, the key stream
    h, mask, stream = stream[:16], stream[16:32], stream[32:32 + len(data)]
    out = _xor(data, stream)
    text = data if opening else out
    lengths = struct.pack(">QQ", 8 * len(associated), 8 * len(text))
    return out, _xor(_ghash(c, h, _padded(associated) + _padded(text) + lengths), mask)


def _padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % 16)


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def gcm_seal(key: bytes, nonce: bytes, plain: bytes, associated: bytes = b"") -> bytes:
    """The ciphertext with its tag after it. `associated` is authenticated, not sealed."""
    sealed, tag = _gcm(key, nonce, plain, associated)
    return sealed + tag


def gcm_open(key: bytes, nonce: bytes, sealed: bytes, associated: bytes = b"") -> bytes:
    """What `gcm_seal` was given; ValueError when the tag does not match (another key, or altered bytes)."""
    if len(nonce) != NONCE or len(sealed) < TAG:
        raise ValueError("not sealed with this box's key")
    plain, tag = _gcm(key, nonce, sealed[:-TAG], associated, opening=True)
    if not _compare_digest(tag, sealed[-TAG:]):  # in constant time: how much of a forged tag matched is not told
        raise ValueError("not sealed with this box's key")
    return plain


def scrypt_key(passphrase: bytes, salt: bytes, n: int, r: int) -> bytes:
    """A 32-byte key from a passphrase (scrypt, p = 1): the same bytes as OpenSSL's, without loading OpenSSL
    (~3.9 MB resident against ~0.4 MB here; its n * r * 128 bytes of work memory are given back after). The web's
    alone (a backup or a restore): it takes the library whole, its ctypes binding loaded first (`_binding`)."""
    _binding()
    from Cryptodome.Protocol.KDF import scrypt

    return scrypt(passphrase, salt, 32, N=n, r=r, p=1)  # type: ignore[return-value]  # one key when num_keys is 1


def _binding() -> None:
    """pycryptodomex's ctypes binding (Util/_raw_api.py, under -OO; cffi otherwise) without two modules it needs
    little of. It imports ctypes.util, with shutil, subprocess, tempfile, bz2, lzma and locale, for find_library,
    which it calls for a library named without a path, never for its own C modules (loaded by path); the stand-in's
    find_library imports the real one if called. Its first load asks platform.architecture(), which runs `file` on
    the interpreter, only to tell Windows' DLLs from the rest: its answer is given instead. The stand-in is in
    sys.modules only while the binding imports (a thread importing ctypes.util meanwhile gets it; none does)."""
    with _loading, _standing_in(_stand_in("ctypes.util", find_library=_find_library)):
        from Cryptodome.Util import _raw_api

        known = getattr(_raw_api, "cached_architecture", None)  # platform.architecture(), once asked
        if isinstance(known, list) and not known and not sys.platform.startswith("win"):
            known[:] = [f"{8 * struct.calcsize('P')}bit", "ELF"]


def _stand_in(name: str, **names: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(names)
    return module


@contextlib.contextmanager
def _standing_in(module: types.ModuleType) -> Iterator[None]:
    placed = sys.modules.setdefault(module.__name__, module) is module  # not if already imported
    try:
        yield
    finally:
        if placed and sys.modules.get(module.__name__) is module:
            del sys.modules[module.__name__]


def _find_library(name: str) -> str | None:
    from ctypes.util import find_library

    return find_library(name)


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
