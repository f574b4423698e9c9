"""A box killed in the middle of a call (SIGKILL, as a crash or a power cut) keeps what it knew of the call.

The box is `hotline simulate` in its own process: the real daemon, a modem emulator on a pty, mock pins and
the simulated caller's microphone, played over the control socket. It is killed with SIGKILL while an
operator talks to a caller, or while a caller leaves a voicemail, and started again on the same data.
"""

from __future__ import annotations

import copy
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from appliance.records.privacy import Privacy
from appliance.records.store.calls import CallStore
from appliance.records.store.retention import enforce_retention
from appliance.service import control
from appliance.service.interrupted_audio import salvage_audio
from appliance.service.keeper import HEARTBEAT_SECONDS
from tests.support.waiting import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from hotline_process import status as daemon_status  # noqa: E402
from simbox import document as box_document  # noqa: E402
from simbox import write_blip  # noqa: E402

CALLER = "+79161234567"
RATE = 8000  # the capture rate: 16-bit mono, so 16,000 bytes a second

def config(path: Path) -> Path:
    """One line, one handset (Anna at h1): key 1 for an operator, key 5 to leave a message."""
    doc = copy.deepcopy(box_document())
    doc["lines"] = doc["lines"][:1]
    doc["handsets"] = [dict(doc["handsets"][0], audio_pins={"gsm1": doc["handsets"][0]["audio_pins"]["gsm1"]})]
    doc["operators"] = doc["operators"][:1]
    doc["flow"]["nodes"]["menu"]["keys"] = {"1": "anyone", "2": "legal", "3": "psychology", "5": "message"}
    doc["flow"]["nodes"]["anyone"]["max_wait"] = 60
    doc["flow"]["nodes"]["message"] = {"type": "voicemail", "max_seconds": 60, "silence_seconds": 30,
                                       "min_seconds": 1, "next": "bye"}
    doc["operators"][0]["ring_timeout"] = 30
    path.write_text(tomli_w.dumps(doc))
    return path


class Box:
    """`hotline simulate` as a process of its own."""

    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        write_blip(self.data / "uploads" / "blip.wav")
        self.config = config(root / "hotline.toml")
        self.log = root / "hotline.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "appliance.cli", "simulate", "--config", str(self.config),
                 "--data", str(self.data), "--port", str(free_port())],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        wait_until(lambda: self.proc.poll() is not None or self.status() is not None, 60, "the box to start")
        assert self.proc.poll() is None, self.log.read_text()

    def ask(self, command: str, **args: Any) -> dict[str, Any]:
        reply = control.call(self.data / "control.sock", command, **args)
        assert reply.get("ok"), reply
        return reply

    def status(self) -> dict[str, Any] | None:
        return daemon_status(self.data)

    def call_state(self) -> str | None:
        calls = (self.status() or {}).get("calls") or []
        return calls[0]["state"] if calls else None

    def kill(self) -> float:
        """SIGKILL, as a crash or a pulled plug; the wall time it happened."""
        killed_at = time.time()
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL
        return killed_at

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def rows(self, sql: str, params: tuple = ()) -> list[dict]:
        with sqlite3.connect(self.data / "calls.db") as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql, params)]


@pytest.fixture
def box(tmp_path):
    box = Box(tmp_path)
    box.start()
    yield box
    box.stop()


@pytest.mark.slow
def test_a_connected_call_cut_by_a_crash_keeps_its_record_and_ends_when_last_known_alive(box):
    box.ask("sim.call", caller=CALLER)
    wait_until(lambda: box.call_state() == "in menu", 15, "the box to answer")
    box.ask("sim.dtmf", digits="1")
    wait_until(lambda: box.call_state() == "ringing operators", 15, "Anna's handset to ring")
    box.ask("sim.offhook", handset="h1")
    wait_until(lambda: box.call_state() == "connected", 15, "Anna to be connected")
    connected_at = time.time()
    # Talking, until the box has written a heartbeat at least a second into the talk.
    wait_until(lambda: (box.rows("SELECT last_alive FROM calls")[0]["last_alive"] or 0) >= connected_at + 1,
               3 * HEARTBEAT_SECONDS, "a heartbeat written while they talk")
    killed_at = box.kill()
    time.sleep(2)  # the behaviour: the box stays down for a while (in the field: the hours of a power cut)
    box.start()
    restarted_at = time.time()

    [call] = box.rows("SELECT * FROM calls")
    assert call["outcome"] == "interrupted"
    assert call["answered_at"] is not None and call["answered_at"] < connected_at
    assert call["menu_path"] == "1"
    assert call["skill"] == "general"
    assert (call["handset"], call["operator"]) == ("h1", "Anna")
    assert call["wait_seconds"] is not None and 0 <= call["wait_seconds"] < 15
    # It ends at the last heartbeat before the kill, not at the restart: the talk time is what was talked.
    assert killed_at - 2 * HEARTBEAT_SECONDS <= call["ended_at"] <= killed_at < restarted_at
    assert call["talk_seconds"] == pytest.approx(call["ended_at"] - call["connected_at"], abs=0.01)
    assert call["talk_seconds"] >= 1
    assert "last moment" in call["reason"]  # the record says its end is the last moment it was known alive
    events = [e["event"] for e in box.rows("SELECT event FROM call_events ORDER BY at")]
    assert events[:4] == ["ANSWERED", "KEY", "ENTERQUEUE", "CONNECT"]
    # The next start finds nothing more to close.
    box.stop()
    box.start()
    assert box.rows("SELECT ended_at FROM calls")[0]["ended_at"] == call["ended_at"]


def _scratch(box: Box) -> list[Path]:
    return sorted((box.data / "voicemail").glob(".*")) if (box.data / "voicemail").exists() else []


@pytest.mark.slow
def test_a_voicemail_cut_by_a_crash_is_salvaged_marked_cut_short_and_erased_with_the_caller(box):
    box.ask("sim.call", caller=CALLER)
    wait_until(lambda: box.call_state() == "in menu", 15, "the box to answer")
    box.ask("sim.dtmf", digits="5")
    wait_until(lambda: _scratch(box), 15, "the recording to start")
    box.ask("sim.speak", seconds=20)
    wait_until(lambda: sum(p.stat().st_size for p in _scratch(box)) >= 3 * 2 * RATE, 15, "3 s of message")
    box.kill()
    assert _scratch(box)  # what the crash left: a hidden scratch file of the caller's voice
    box.start()

    [message] = box.rows("SELECT * FROM voicemails")
    [call] = box.rows("SELECT id, outcome, caller_key FROM calls")
    assert message["call_id"] == call["id"] and call["outcome"] == "interrupted"
    assert message["cut_short"] == 1
    assert message["caller_key"] == call["caller_key"]
    assert message["seconds"] >= 3
    audio = Path(message["path"])
    assert audio.read_bytes()[:4] == b"fLaC"
    assert _scratch(box) == []  # nothing of the caller's voice is left hidden
    # The salvaged message is a voicemail like any other: the caller's erasure takes it with everything else.
    box.ask("caller.erase", caller=CALLER, actor="admin")
    assert not audio.exists()
    assert box.rows("SELECT * FROM voicemails") == []
    assert sorted(os.listdir(box.data / "voicemail")) == []


# --- the salvage at start, on a data directory as a crash leaves it (real SQLite, real flac) -------------------

def _crashed_box(data: Path, voice_seconds: float) -> CallStore:
    """A call that was recording a message when the box died: its open row and its hidden scratch file."""
    store = CallStore(data / "calls.db")
    store.call_started("c1", "gsm1", CALLER, 1000.0)
    (data / "voicemail").mkdir()
    (data / "voicemail" / ".c1.flac.k2j4h8s1.raw").write_bytes(b"\x10\x02" * int(voice_seconds * RATE) + b"\x01")
    (data / "voicemail" / ".c1.flac.p0q9w8e7.part").write_bytes(b"half a compression")
    return store


def test_a_message_cut_under_a_second_is_removed_not_kept(tmp_path):
    store = _crashed_box(tmp_path, 0.6)
    assert store.close_interrupted() == 1
    assert salvage_audio(store, tmp_path) == {"kept": 0, "removed": 1, "left": 0}
    assert os.listdir(tmp_path / "voicemail") == []
    assert store.db.execute("SELECT COUNT(*) FROM voicemails").fetchone()[0] == 0
    store.close()


def test_a_salvaged_message_expires_with_the_voicemail_retention(tmp_path):
    store = _crashed_box(tmp_path, 2.5)
    store.close_interrupted()
    assert salvage_audio(store, tmp_path) == {"kept": 1, "removed": 0, "left": 0}
    [(path, seconds, cut_short)] = store.db.execute("SELECT path, seconds, cut_short FROM voicemails").fetchall()
    assert (Path(path), seconds, cut_short) == (tmp_path / "voicemail" / "c1.flac", 2.5, 1)
    assert os.listdir(tmp_path / "voicemail") == ["c1.flac"]
    enforce_retention(store, time.time() + 31 * 86400, {"voicemail": 30})
    assert os.listdir(tmp_path / "voicemail") == []
    assert store.db.execute("SELECT COUNT(*) FROM voicemails").fetchone()[0] == 0
    store.close()


def test_a_call_recording_cut_by_a_crash_is_kept_as_a_recording_cut_short(tmp_path):
    store = CallStore(tmp_path / "calls.db")
    store.call_started("c1", "gsm1", CALLER, 1000.0)
    (tmp_path / "recordings").mkdir()
    (tmp_path / "recordings" / ".c1.flac.a1b2c3d4.raw").write_bytes(b"\x10\x02" * 2 * RATE)
    assert salvage_audio(store, tmp_path)["kept"] == 1
    assert store.db.execute("SELECT call_id, seconds, cut_short FROM recordings").fetchall() == [("c1", 2.0, 1)]
    assert store.db.execute("SELECT COUNT(*) FROM voicemails").fetchone()[0] == 0
    assert os.listdir(tmp_path / "recordings") == ["c1.flac"]
    store.close()


def test_a_scratch_file_of_a_call_no_longer_in_the_log_is_removed(tmp_path):
    store = _crashed_box(tmp_path, 3)
    store.db.execute("DELETE FROM calls")  # erased (or expired) before the box came back
    assert salvage_audio(store, tmp_path) == {"kept": 0, "removed": 1, "left": 0}
    assert os.listdir(tmp_path / "voicemail") == []
    store.close()


def test_a_message_that_cannot_be_compressed_now_waits_for_the_next_start(tmp_path):
    store = _crashed_box(tmp_path, 2)
    store.close_interrupted()

    def disk_full(raw: str, dst: str, rate: int) -> None:
        raise OSError(28, "No space left on device")

    assert salvage_audio(store, tmp_path, encode=disk_full) == {"kept": 0, "removed": 0, "left": 1}
    assert [p.name for p in (tmp_path / "voicemail").iterdir()] == [".c1.flac.k2j4h8s1.raw"]
    assert salvage_audio(store, tmp_path) == {"kept": 1, "removed": 0, "left": 0}
    store.close()


def test_the_heartbeat_keeps_no_number_the_box_does_not_keep(tmp_path):
    store = CallStore(tmp_path / "calls.db", privacy=Privacy.for_data_dir(tmp_path, "pseudonym"))
    store.call_started("c1", "gsm1", CALLER, 1000.0)
    store.call_alive({"id": "c1", "line": "gsm1", "caller": CALLER, "started_at": 1000.0, "answered_at": 1000.5,
                      "menu_path": "1", "events": [{"at": 1000.5, "event": "ANSWERED", "detail": CALLER}]}, 1005.0)
    last_alive, progress = store.db.execute("SELECT last_alive, progress FROM calls").fetchone()
    assert last_alive == 1005.0 and CALLER.removeprefix("+") not in progress
    store.close_interrupted()
    assert store.db.execute("SELECT ended_at, answered_at, menu_path, progress FROM calls").fetchone() == (
        1005.0, 1000.5, "1", None)
    store.close()
