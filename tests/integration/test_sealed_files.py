"""Files sealed before the seal changed library (cryptography, up to 3a5f8e1) open with this one: the answer
journal, the call journal, a text conversation's sealed number and a sealed backup, each kept here as the bytes
the earlier code wrote (made once with it; that library is no longer the box's). A wrong key or a torn line
still gives the clear error it gave, and sealing loads no OpenSSL binding into the daemon or the web. A line's
first answer after a start waits for no library: it holds no number, and the number after it is still sealed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from appliance.modem.answer_journal import AnswerJournal
from appliance.records.sealed import Seal
from appliance.records.store.journal import Journal
from appliance.records.store.texts import TextStore
from web import sealed

REPO = Path(__file__).resolve().parents[2]
SECRET = bytes(range(32))  # the box's privacy.key the fixtures were sealed with
OTHER = bytes(range(1, 33))

# AnswerJournal(..., SECRET): c1 answered with its number known (sealed whole); c2, gsm2's first answer (sealed
# whole), its number after the ATA, settled; c3 on gsm2 (sealed ahead, id and time in the clear), its number.
ANSWERS = (b'0kwjdT5fkkD3yvctuTPXNKLhIWcu8IbtZZ8oDtsezfeu21VweF-cTofhORjF1zJ52zhxso2MPQxb2DJutW_L1cmD6z4pPOK8'
    b'y1xw1MRoWp_injcsbNR2fO6tUjiqyhx9\n-PQaP8690Vf9-qkLHT2m2O8AL3h_jvEkdkZXRPQGfUWRit8e7C2uSJn1SUjb3x'
    b'gQDPoaXNBlFzfjMP9GOjYeZQI1sFall16nD6lKGDilKhyc9uBbRlHP\nVIn3x8wEgQtb0vzYcytVSE7JV0mAiNtTPPYkKDLF'
    b'PpEGAldxa_wR4a9vQzeejw2F1y0lzy--ws3g5KdLbI_yVcIoOckYAgkhEk8KoMa8tMQEj9TzHCJCarSv_SXFh3yv\nLD4BIJ'
    b'YYA73OX4oOGXrHepacPki25oJshpVzPAUeTx2uuKqhnQKpDy1NAfOkE0LG-omBaTlq4-qC\nr1d8C7s6IjIupbhujyT7Q5KA'
    b'a0O7Oj0OI9OAoZZ2ZnI8Z63nw0WGDGTOot4= c3 1003.000\nE-6gxyQHwtgIIrYm834hvCVo4B-9y7KNj3eC2DfZF0tv85'
    b'AkaMeMYdftOjjkgpbam0a-hZwii4MEkHlOPDimAaj8J6wKfYWUd1u9w2dSTEdDO5eEJb8laT8QXruITOCq\n')
# Journal(..., secret=SECRET).append({"op": "call_started", "caller": "+79161234567", "at": 1000.5})
CALLS = (b'6XJWbv9qr7xdWaT1sEABVdmVBdZaPlv86BCemQA0BdVl5CqPfW5A0mzyMDrN4vGBh3_NfLaaNaQOPe52LRxb1Fexy6TRCZ94'
    b'dT6xicI3WC6AW0WHg8b5HMCI\n')
# TextStore's sealed column for +79161234567
TEXT = b'4do2kuiaHnkojpdM_y8iMEzmTGjfosZZ1BUtC3lhBA57yXTRXaL2KA=='
# web.sealed.seal(b"a small tar.gz stands here, 40 bytes ok", passphrase) with CHUNK = 16: three chunks
BACKUP = (b"HOTLINE-SEALED-1\n\x0f\x83Z\xe9\xa3\x84n\xde\xf7\n$\xa79\xa8\xe6>H\x03\x0f_`\x8a\x8a\x02\x00\x00\x00 "
    b"\xb1\x10\xab|h\x85m\x1b\xdao\x0e\xea\xec\xf8d\xb2\xbd\x86\x1c\x0f\xa1% ,\x827\xae\nO\xf2\x80!\x00\x00\x00 \xd9')"
    b"\xa9\xe6\xba\xf6>\xb5(bU\xd4y\xcd\x91\xde\x95\xbd>\x9b.\x93\xb5\xd81%R\xd2mo\xe2\x00\x00\x00\x17\x8d+"
    b"\xc4\x0c\xb8\xcc\xe5\xb4\xe5\x8f\x07\xb7\x86\xfb89_\x9dL\x9eVK\x17")
PASSPHRASE = "a passphrase of the admin's"


def test_an_answer_journal_sealed_by_the_earlier_library_gives_back_its_unsettled_calls(tmp_path):
    (tmp_path / "answers.journal").write_bytes(ANSWERS + bytes(100))  # the reservation's zeros after the lines
    assert AnswerJournal(tmp_path / "answers.journal", SECRET).unsettled() == [
        {"id": "c1", "line": "gsm1", "caller": "+79161234567", "at": 1000.5},
        {"line": "gsm2", "id": "c3", "at": 1003.0, "caller": "+79160000003"}]
    # another box's key opens none of it, and says nothing it cannot read
    assert AnswerJournal(tmp_path / "answers.journal", OTHER).unsettled() == []


def test_a_call_journal_sealed_by_the_earlier_library_is_replayed_and_a_torn_line_dropped(tmp_path, caplog):
    path = tmp_path / "calls.journal"
    path.write_bytes(CALLS)
    assert Journal(path, 4096, secret=SECRET).load() == [{"op": "call_started", "caller": "+79161234567", "at": 1000.5}]
    path.write_bytes(CALLS + CALLS[:40] + b"\n")  # a power cut mid-append
    assert Journal(path, 4096, secret=SECRET).load() == [{"op": "call_started", "caller": "+79161234567", "at": 1000.5}]
    assert "a torn entry (or one sealed with another key) was dropped" in caplog.text
    assert Journal(path, 4096, secret=OTHER).load() == []


def test_a_text_conversation_sealed_by_the_earlier_library_still_gives_its_number_to_answer():
    texts = TextStore(None, SimpleNamespace(secret=SECRET))
    assert texts.number({"sealed": TEXT.decode()}) == "+79161234567"
    with pytest.raises(ValueError, match="not sealed with this box's key"):
        TextStore(None, SimpleNamespace(secret=OTHER)).number({"sealed": TEXT.decode()})


def test_a_sealed_line_with_another_key_or_torn_says_so():
    seal = Seal(SECRET, b"hotline text conversations")
    assert seal.open(seal.seal(b"+79161234567")) == b"+79161234567"
    for torn in (TEXT[:-4], TEXT[:20], b"", b"a"):
        with pytest.raises(ValueError):
            seal.open(torn)
    with pytest.raises(ValueError, match="not sealed with this box's key"):
        seal.open(TEXT[:-8] + b"AAAAAAA=")  # the tag altered


def test_a_backup_sealed_by_the_earlier_library_restores_and_still_refuses_a_wrong_passphrase_or_a_cut():
    assert b"".join(sealed.unseal(io.BytesIO(BACKUP), PASSPHRASE)) == b"a small tar.gz stands here, 40 bytes ok"
    with pytest.raises(sealed.WrongPassphrase):
        b"".join(sealed.unseal(io.BytesIO(BACKUP), "another passphrase"))
    with pytest.raises(sealed.SealError, match="damaged or cut short"):
        b"".join(sealed.unseal(io.BytesIO(BACKUP[:-23]), PASSPHRASE))  # the last chunk gone: the second is not last


LOADED = """
import io, json, sys, tempfile
from pathlib import Path
from appliance.modem.answer_journal import AnswerJournal
journal = AnswerJournal(Path(tempfile.mkdtemp()) / "answers.journal", bytes(32))
journal.open()
journal.note("c1", "gsm1", "+79161234567")
journal.settled("c1")
daemon = sorted(name for name in sys.modules if name.split(".")[0] in sys.argv[1:])
from web import sealed  # the web app (Flask) holds some of them already: only what sealing adds counts
before = set(sys.modules)
sealed.seal(io.BytesIO(b"archive"), io.BytesIO(), "a long passphrase")
web = sorted(name for name in set(sys.modules) - before if name.split(".")[0] in sys.argv[1:])
print(json.dumps([daemon, web]))
"""


def test_sealing_an_answer_or_a_backup_loads_no_openssl_binding():
    # cryptography's Rust binding links a whole OpenSSL (~9.9 MB resident in the box's interpreter, from the
    # first answer on); hashlib's scrypt loads libcrypto (~3.9 MB). Neither is needed for AES-GCM or scrypt.
    openssl = ("cryptography", "_hashlib", "hashlib", "ssl", "_ssl")
    out = subprocess.run([sys.executable, "-c", LOADED, *openssl], capture_output=True, text=True, check=True,
                         cwd=REPO)
    daemon, web = json.loads(out.stdout)
    assert daemon == [] and web == []


FIRST_ANSWER = """
import json, sys, tempfile
from pathlib import Path
from appliance.modem.answer_journal import AnswerJournal
def held():
    return sorted(name for name in sys.modules if name.split(".")[0] in ("cryptography", "Cryptodome"))
journal = AnswerJournal(Path(tempfile.mkdtemp()) / "answers.journal", bytes(32))
journal.open()
journal.note("c1", "gsm1", None)  # the line's reader, just before the first ATA: the number is not read yet
journal.note("c2", "gsm2", None)
journal.settled("c2")  # the event loop: c2's caller withheld their number
steps = [held()]
journal.note("c1", "gsm1", "+79161234567")  # after the ATA: the number, sealed
steps.append(held())
on_disk = journal.path.read_bytes()
print(json.dumps([steps, AnswerJournal(journal.path, bytes(32)).unsettled(), "79161234567" in on_disk.decode()]))
"""


def test_a_first_answer_waits_for_no_seal_library_and_the_number_after_it_is_sealed():
    out = subprocess.run([sys.executable, "-c", FIRST_ANSWER], capture_output=True, text=True, check=True, cwd=REPO)
    (before_number, after_number), unsettled, readable = json.loads(out.stdout)
    assert before_number == []  # neither the ATA's way nor the event loop loaded it (~20 ms here, more on a Pi)
    assert after_number != []
    assert [(entry["id"], entry["line"], entry["caller"]) for entry in unsettled] == [("c1", "gsm1", "+79161234567")]
    assert not readable


# GCM's published test case 4 (McGrew and Viega, "The Galois/Counter Mode of Operation", as in NIST's GCM
# validation): AES-128, a 60-byte text, 20 bytes authenticated and not sealed.
KEY, IV = bytes.fromhex("feffe9928665731c6d6a8f9467308308"), bytes.fromhex("cafebabefacedbaddecaf888")
PLAIN = bytes.fromhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
                      "b16aedf5aa0de657ba637b39")
ASSOCIATED = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
SEALED = bytes.fromhex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84a"
                       "a051ba30b396a0aac973d58e091" "5bc94fbc3221a5db94fae95ae7121a47")  # the ciphertext, then the tag

STANDARD = """
import sys
from appliance.records.sealed import gcm_open, gcm_seal
key, iv, plain, associated = (bytes.fromhex(arg) for arg in sys.argv[1:])
sealed = gcm_seal(key, iv, plain, associated)
print(sealed.hex(), gcm_open(key, iv, sealed, associated) == plain)
"""


@pytest.mark.parametrize("optimize", ["", "2"])
def test_the_seal_is_standard_aes_gcm_as_the_box_loads_it_and_as_the_tests_do(optimize):
    # The box runs under the unit's -OO (PYTHONOPTIMIZE=2), the tests without it: the seal is the same under both
    # (its C modules bound with ctypes either way; more vectors in tests/unit/test_seal_gcm.py).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONOPTIMIZE"} | ({"PYTHONOPTIMIZE": optimize} if optimize
                                                                          else {})
    out = subprocess.run([sys.executable, "-c", STANDARD, KEY.hex(), IV.hex(), PLAIN.hex(), ASSOCIATED.hex()],
                         capture_output=True, text=True, check=True, cwd=REPO, env=env)
    assert out.stdout.split() == [SEALED.hex(), "True"]
