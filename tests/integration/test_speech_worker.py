"""The speech worker as the daemon uses it: a real process fed over a pipe, its answers posted as events."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from appliance.audio.takes import encode_flac
from appliance.core import events as ev
from appliance.speech.capacity import judge
from appliance.speech.grammar import choose, jsgf
from appliance.speech.recogniser import Recogniser
from tests.support.speech import phone_speech
from tests.support.waiting import wait_until

needs_engine = pytest.mark.skipif(find_spec("pocketsphinx") is None, reason="pocketsphinx is not installed")
INTENTS = (("legal", ("legal advice", "a lawyer")), ("health", ("a doctor", "medical help")))


def answer(tmp_path: Path, words: str, name: str = "answer") -> str:
    """The caller's words as the recorder leaves them: 8 kHz FLAC."""
    raw = tmp_path / f"{name}.raw"
    raw.write_bytes(phone_speech(words) + bytes(3200))
    encode_flac(str(raw), str(tmp_path / f"{name}.flac"), 8000)
    raw.unlink()
    return str(tmp_path / f"{name}.flac")


def test_the_grammar_allows_a_few_words_around_one_phrase_and_the_longest_whole_phrase_wins() -> None:
    grammar = jsgf(INTENTS, known={"a", "lawyer", "legal", "advice", "doctor", "i", "need", "please"})
    assert "(a lawyer)" in grammar and "(medical help)" not in grammar  # "medical" unknown to the engine
    assert choose(INTENTS, [("i", 20), ("need", 20), ("a", 10), ("lawyer", 40), ("please", 10)]) == ("legal", 0.5)
    assert choose(INTENTS, [("a", 10), ("the", 40)]) == (None, 0.0)
    with pytest.raises(ValueError, match="no phrase"):
        jsgf(INTENTS, known={"a"})


@needs_engine
def test_an_answer_is_heard_and_deleted_and_a_job_beyond_the_bound_is_busy(tmp_path) -> None:
    events: queue.Queue = queue.Queue()
    # A big parent (a pytest worker after the browser tests is ~190 MB): the worker's peak is its own, not this.
    ballast = bytearray(200 * 1024 * 1024)
    ballast[::4096] = b"\1" * len(ballast[::4096])
    recogniser = Recogniser(events.put, tmp_path / "models", max_pending=1)
    try:
        first, second = answer(tmp_path, "I need a lawyer please", "first"), answer(tmp_path, "a doctor", "second")
        recogniser.recognise(ev.Recognise("gsm1", "c1", first, "en", INTENTS))
        recogniser.recognise(ev.Recognise("gsm2", "c2", second, "en", INTENTS))
        busy = events.get(timeout=5)
        assert busy == ev.SpeechHeard("gsm2", "c2", None, 0.0, "busy") and not os.path.exists(second)
        heard = events.get(timeout=60)
        assert (heard.line, heard.call_id, heard.intent) == ("gsm1", "c1", "legal") and heard.confidence > 0.3
        assert not os.path.exists(first), "a spoken answer is never kept"
        assert 10 < recogniser.peak_kb / 1024 < 150
    finally:
        recogniser.close()
        del ballast


@needs_engine
def test_a_worker_that_dies_answers_its_jobs_as_failed_and_the_next_job_starts_another(tmp_path) -> None:
    events: queue.Queue = queue.Queue()
    recogniser = Recogniser(events.put, tmp_path / "models")
    try:
        recogniser.start()
        pid = wait_until(lambda: recogniser.pid, what="the worker")
        recogniser.recognise(ev.Recognise("gsm1", "c1", answer(tmp_path, "a doctor please"), "en", INTENTS))
        os.kill(pid, signal.SIGKILL)
        lost = events.get(timeout=30)
        assert lost.call_id == "c1" and lost.intent is None and lost.reason.startswith("failed")
        recogniser.recognise(ev.Recognise("gsm1", "c2", answer(tmp_path, "medical help", "again"), "en", INTENTS))
        assert events.get(timeout=60).intent == "health" and recogniser.pid != pid
    finally:
        recogniser.close()


@needs_engine
def test_a_language_without_an_engine_is_answered_with_the_reason(tmp_path) -> None:
    events: queue.Queue = queue.Queue()
    recogniser = Recogniser(events.put, tmp_path / "models")
    try:
        recogniser.recognise(ev.Recognise("gsm1", "c1", answer(tmp_path, "hello"), "ru", INTENTS))
        heard = events.get(timeout=30)
        assert heard.intent is None and "no speech engine for 'ru'" in heard.reason
    finally:
        recogniser.close()


def test_speech_is_off_where_the_box_cannot_afford_it() -> None:
    assert judge("auto", 150, free_mb=400, cores=4, engines=["pocketsphinx"]).on
    assert "only 90 MB" in judge("auto", 150, free_mb=90, cores=4, engines=["pocketsphinx"]).why
    assert "1 CPU core" in judge("auto", 150, free_mb=400, cores=1, engines=["pocketsphinx"]).why
    assert "no speech engine" in judge("auto", 150, free_mb=400, cores=4, engines=[]).why
    assert not judge("off", 150, free_mb=400, cores=4, engines=["pocketsphinx"]).on


def test_hotline_check_says_whether_speech_is_on(tmp_path) -> None:
    import tomli_w

    from appliance import config as configuration

    document = configuration.default_document()
    document["flow"] = {"start": "ask", "nodes": {
        "ask": {"type": "speak", "prompt": "main_menu", "keys": {"1": "bye"},
                "intents": {"bye": {"en": ["goodbye"]}}},
        "bye": {"type": "hangup"}}}
    document["speech"] = {"min_free_mb": 10 ** 9}
    path = tmp_path / "hotline.toml"
    path.write_text(tomli_w.dumps(document))
    done = subprocess.run([sys.executable, "-m", "appliance.cli", "check", "--config", str(path), "--no-hardware",
                           "--data", str(tmp_path / "data")], capture_output=True, text=True, timeout=60)
    assert "speech: OFF — only" in done.stdout and "callers at speak nodes use the keys" in done.stdout, done


def test_a_number_said_in_a_voicemail_is_kept_as_the_privacy_mode_keeps_numbers() -> None:
    from appliance.records.privacy import Privacy, transcript_as_kept

    said = "please call me on nine one six five five five zero one nine nine thanks"
    assert transcript_as_kept(said, Privacy("full", bytes(32))) == said
    for mode in ("masked", "pseudonym"):
        assert transcript_as_kept(said, Privacy(mode, bytes(32))) == "please call me on [number] thanks"
    assert transcript_as_kept("room 42 at one", Privacy("masked", bytes(32))) == "room 42 at one"


def test_a_damaged_vosk_model_is_a_failed_answer_not_a_dead_worker(tmp_path) -> None:
    pytest.importorskip("vosk")  # optional: only boxes that recognise Russian (or better English) install it
    model = tmp_path / "models" / "ru"
    for part in ("am/final.mdl", "conf/mfcc.conf", "graph/HCLG.fst"):
        (model / part).parent.mkdir(parents=True, exist_ok=True)
        (model / part).write_bytes(b"\0" * 64)
    events: queue.Queue = queue.Queue()
    recogniser = Recogniser(events.put, tmp_path / "models")
    try:
        recogniser.recognise(ev.Recognise("gsm1", "c1", answer(tmp_path, "hello"), "ru", INTENTS))
        heard = events.get(timeout=60)
        assert heard.intent is None and heard.reason.startswith("failed")
    finally:
        recogniser.close()
