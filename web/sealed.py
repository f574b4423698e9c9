"""Backups sealed with a passphrase the admin chooses: scrypt turns it into a key, AES-GCM seals the archive.

A backup holds the privacy key, the users' password hashes, the call log and maybe voicemail, so it is never
written in the clear. The archive is sealed in 1 MiB chunks (so neither side holds it whole in memory); each
chunk's nonce counts up and the last one is marked, so a reordered, cut or altered file fails to open as a whole.

Layout: MAGIC, scrypt log2(n), 16-byte salt, 7-byte nonce prefix, then chunks of (4-byte length, sealed bytes).
scrypt and AES-GCM are the box's one seal (appliance/records/sealed.py), loaded by the first backup or restore.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import IO

from appliance.records.sealed import gcm_open, gcm_seal, scrypt_key

from .i18n import Refusal

MAGIC = b"HOTLINE-SEALED-1\n"
CHUNK = 1024 * 1024
LOG_N = 15  # scrypt n = 32768, r = 8: 32 MiB and a fraction of a second on a Pi, per try of a guessed passphrase
MIN_PASSPHRASE = 10


class SealError(Refusal):
    pass


class WrongPassphrase(SealError):
    pass


def _key(passphrase: str, salt: bytes, log_n: int) -> bytes:
    return scrypt_key(passphrase.encode("utf-8"), salt, n=2 ** log_n, r=8)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I?", index, last)


def seal(source: IO[bytes], out: IO[bytes], passphrase: str) -> None:
    """Write `source` to `out` sealed with `passphrase`."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise SealError("the passphrase must be at least {n} characters", n=MIN_PASSPHRASE)
    salt, prefix = os.urandom(16), os.urandom(7)
    header = MAGIC + bytes([LOG_N]) + salt + prefix
    key = _key(passphrase, salt, LOG_N)
    out.write(header)
    chunk, index = source.read(CHUNK), 0
    while True:
        following = source.read(CHUNK)
        sealed = gcm_seal(key, _nonce(prefix, index, not following), chunk, header)
        out.write(struct.pack(">I", len(sealed)) + sealed)
        if not following:
            return
        chunk, index = following, index + 1


def is_sealed(head: bytes) -> bool:
    return head.startswith(MAGIC)


def unseal(source: IO[bytes], passphrase: str) -> Iterator[bytes]:
    """The archive's bytes, chunk by chunk. WrongPassphrase when the first chunk does not open (a wrong
    passphrase, nothing else opens it); SealError when a later chunk fails (the file was cut or altered)."""
    header = source.read(len(MAGIC) + 1 + 16 + 7)
    if not is_sealed(header) or len(header) < len(MAGIC) + 24:
        raise SealError("this is not a sealed hotline backup")
    log_n, salt, prefix = header[len(MAGIC)], header[len(MAGIC) + 1:-7], header[-7:]
    if not 10 <= log_n <= 20:
        raise SealError("this sealed backup asks for an unreasonable key derivation; it was not made by a hotline")
    key, index = _key(passphrase, salt, log_n), 0
    while True:
        size = source.read(4)
        if len(size) < 4:
            raise SealError("the sealed backup is cut short")
        (length,) = struct.unpack(">I", size)
        if length > CHUNK + 16:
            raise SealError("the sealed backup is damaged")
        sealed = source.read(length)
        for last in (False, True):
            try:
                chunk = gcm_open(key, _nonce(prefix, index, last), sealed, header)
                break
            except ValueError:
                continue
        else:
            if index == 0:
                raise WrongPassphrase("wrong passphrase")
            raise SealError("the sealed backup is damaged or cut short")
        yield chunk
        if last:
            if source.read(1):
                raise SealError("the sealed backup has bytes after its end")
            return
        index += 1
