"""Sealed backups: only the passphrase opens them, and a cut or altered file never opens as a whole."""

from __future__ import annotations

import io
import os

import pytest

from web import sealed

PASSPHRASE = "a long passphrase"


def _sealed(data: bytes) -> bytes:
    out = io.BytesIO()
    sealed.seal(io.BytesIO(data), out, PASSPHRASE)
    return out.getvalue()


def _open(blob: bytes, passphrase: str = PASSPHRASE) -> bytes:
    return b"".join(sealed.unseal(io.BytesIO(blob), passphrase))


def test_round_trip_across_chunks_and_empty():
    data = os.urandom(2 * sealed.CHUNK + 7)
    assert _open(_sealed(data)) == data
    assert _open(_sealed(b"")) == b""


def test_a_wrong_passphrase_is_named_as_such():
    with pytest.raises(sealed.WrongPassphrase):
        _open(_sealed(b"calls"), "another passphrase")


def test_a_cut_an_altered_or_a_lengthened_file_does_not_open():
    blob = _sealed(os.urandom(2 * sealed.CHUNK))
    first_chunk_end = len(sealed.MAGIC) + 24 + 4 + sealed.CHUNK + 16
    for damaged in (blob[:first_chunk_end], blob[:-1], blob + b"x",
                    blob[:-5] + bytes([blob[-5] ^ 1]) + blob[-4:]):
        with pytest.raises(sealed.SealError):
            _open(damaged)


def test_a_short_passphrase_is_refused():
    with pytest.raises(sealed.SealError, match="at least 10"):
        sealed.seal(io.BytesIO(b"x"), io.BytesIO(), "short")
