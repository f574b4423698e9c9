"""appliance.digest gives the same bytes as hashlib and hmac (the daemon avoids them for OpenSSL's memory)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from appliance.digest import hmac_sha256, sha256, token_hex, token_urlsafe


def test_hmac_sha256_matches_rfc_4231_case_2() -> None:
    assert hmac_sha256(b"Jefe", b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")


@pytest.mark.parametrize("key_length", [0, 1, 16, 32, 63, 64, 65, 131])
def test_hmac_sha256_matches_the_standard_library_for_every_key_length(key_length: int) -> None:
    key, message = bytes(range(key_length)) * 1, b"+79001234567" * key_length
    assert hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()


def test_sha256_matches_hashlib_when_fed_in_parts() -> None:
    ours, theirs = sha256(), hashlib.sha256()
    for part in (b"", b"prompt", bytes(1000)):
        ours.update(part)
        theirs.update(part)
    assert ours.hexdigest() == theirs.hexdigest()


def test_tokens_are_random_and_of_the_asked_length() -> None:
    assert len(token_hex(8)) == 16 and token_hex(8) != token_hex(8)
    assert len(token_urlsafe(32)) == 43 and "=" not in token_urlsafe(32)
