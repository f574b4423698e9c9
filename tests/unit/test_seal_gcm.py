"""The seal is standard AES-GCM (96-bit nonce, 16-byte tag): the published test vectors, the bytes the library's own
AES-GCM gives, on the C modules this CPU has and on those of one without AES-NI or CLMUL (a Pi Zero 2 W), and
nothing opens that was altered. What the seal costs in memory is judged by the footprint bench's row, not here."""

from __future__ import annotations

import os
import random

import pytest

from appliance.records import sealed
from appliance.records.sealed import gcm_open, gcm_seal

# McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", revised spec (NIST's proposed modes), test cases
# 1-4, 7-10 and 13-16, those with a 96-bit IV: AES-128, AES-192, AES-256; (key, IV, plain, associated, cipher, tag)
_TEXT = ("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
         "b16aedf5aa0de657ba637b39")
_K128, _K192, _K256 = "feffe9928665731c6d6a8f9467308308", "feffe9928665731c6d6a8f9467308308feffe9928665731c", (
    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
_IV, _AD = "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2"
VECTORS = [
    ("00" * 16, "00" * 12, "", "", "", "58e2fccefa7e3061367f1d57a4e7455a"),
    ("00" * 16, "00" * 12, "00" * 16, "", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"),
    (_K128, _IV, _TEXT + "1aafd255", "", "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b254"
     "66931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985", "4d5c2af327cd64a62cf35abd2ba6fab4"),
    (_K128, _IV, _TEXT, _AD, "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a"
     "5aac84aa051ba30b396a0aac973d58e091", "5bc94fbc3221a5db94fae95ae7121a47"),
    ("00" * 24, "00" * 12, "", "", "", "cd33b28ac773f74ba00ed1f312572435"),
    ("00" * 24, "00" * 12, "00" * 16, "", "98e7247c07f0fe411c267e4384b0f600", "2ff58d80033927ab8ef4d4587514f0fb"),
    (_K192, _IV, _TEXT + "1aafd255", "", "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c1"
     "44c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade256", "9924a7c8587336bfb118024db8674a14"),
    (_K192, _IV, _TEXT, _AD, "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d"
     "18c84a3f4718e2448b2fe324d9ccda2710", "2519498e80f1478f37ba55bd6d27618c"),
    ("00" * 32, "00" * 12, "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"),
    ("00" * 32, "00" * 12, "00" * 16, "", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"),
    (_K256, _IV, _TEXT + "1aafd255", "", "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e4859"
     "0dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad", "b094dac5d93471bdec1a502270e3cc6c"),
    (_K256, _IV, _TEXT, _AD, "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b"
     "1056828838c5f61e6393ba7a0abcc9f662", "76fc6ece0f4e1768cddf8853bb2d551b"),
]


@pytest.fixture(params=["this CPU's", "without AES-NI or CLMUL"])
def modules(request, monkeypatch) -> None:
    """The seal's C modules loaded afresh: the ones this CPU takes, or the portable ones a Pi Zero 2 W takes
    (its build has no AES-NI or CLMUL module at all)."""
    monkeypatch.setattr(sealed, "_modules", None)
    if request.param != "this CPU's":
        found = sealed._module
        monkeypatch.setattr(sealed, "_module", lambda folder, package, name, needed=False: None if name in (
            "_raw_aesni", "_ghash_clmul") else found(folder, package, name, needed))
        loaded = sealed._load()
        assert (loaded.start.__name__, loaded.ghash.__name__) == ("AES_start_operation", "ghash_portable")


def test_the_published_vectors_seal_and_open(modules):
    for key, iv, plain, associated, cipher, tag in VECTORS:
        key_, iv_, plain_, associated_ = (bytes.fromhex(x) for x in (key, iv, plain, associated))
        assert gcm_seal(key_, iv_, plain_, associated_).hex() == cipher + tag
        assert gcm_open(key_, iv_, bytes.fromhex(cipher + tag), associated_) == plain_


def test_the_seal_gives_the_bytes_the_librarys_own_aes_gcm_gives_both_ways(modules):
    from Cryptodome.Cipher import AES  # the seal up to the tenth session (and `cryptography`'s bytes before it)

    draw = random.Random(18)
    sizes = [0, 1, 15, 16, 17, 31, 32, 33, 100, 4096 + 5] + [draw.randrange(2000) for _ in range(30)] + [2**20 + 7]
    for size in sizes:
        key, nonce = os.urandom(draw.choice((16, 24, 32))), os.urandom(12)
        plain, associated = os.urandom(size), os.urandom(draw.choice((0, 1, 16, 20, 41)))
        theirs = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=16)
        theirs.update(associated)
        sealed_by_them = b"".join(theirs.encrypt_and_digest(plain))
        assert gcm_seal(key, nonce, plain, associated) == sealed_by_them, size
        assert gcm_open(key, nonce, sealed_by_them, associated) == plain


def test_nothing_altered_opens(modules):
    key, nonce, associated = os.urandom(32), os.urandom(12), b"a backup's header"
    sealed_ = gcm_seal(key, nonce, b'{"caller": "+79161234567"}', associated)
    for at in range(len(sealed_)):  # each byte of the ciphertext and of the tag
        altered = sealed_[:at] + bytes([sealed_[at] ^ 0x01]) + sealed_[at + 1:]
        with pytest.raises(ValueError, match="not sealed with this box's key"):
            gcm_open(key, nonce, altered, associated)
    for other in ((os.urandom(32), nonce, sealed_, associated), (key, os.urandom(12), sealed_, associated),
                  (key, nonce, sealed_, b"another header"), (key, nonce, sealed_[:-1], associated),
                  (key, nonce[:8], sealed_, associated)):
        with pytest.raises(ValueError, match="not sealed with this box's key"):
            gcm_open(*other)


def test_a_key_of_another_size_or_a_nonce_of_another_length_is_refused(modules):
    with pytest.raises(ValueError, match="16, 24 or 32 bytes"):
        gcm_seal(bytes(20), bytes(12), b"x")
    with pytest.raises(ValueError, match="12 bytes"):
        gcm_seal(bytes(32), bytes(8), b"x")
