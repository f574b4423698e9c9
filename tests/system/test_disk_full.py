"""A full data disk, met the way a box in the field meets it: a real (tiny) filesystem that fills up.

The real daemon runs on a tmpfs of a few megabytes (tests/support/storage_faults.py); a filler file takes every
free byte. The caller must not notice; the admin must; nothing may be lost or written twice.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import tomli_w

from appliance import config as configuration
from appliance.service import control
from appliance.service.daemon import Daemon
from appliance.service.timesync import SystemTime
from appliance.sim.simulation import Simulation
from tests.support.status import loop_status
from tests.support.storage_faults import Filler, tiny_filesystem
from tests.support.waiting import wait_until

RING, AUDIO, HOOK = {"h1": 17, "h2": 5}, {"h1": 22, "h2": 13}, {"h1": 27, "h2": 6}
CALLER = "+79161234567"

pytestmark = pytest.mark.slow


class Box:
    """The real daemon on simulated hardware, its loop in a thread, as `hotline run` drives it."""

    def __init__(self, data: Path, clock: SystemTime | None = None, **document_changes: object) -> None:
        document = configuration.default_document()
        document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
        document.update(document_changes)
        self.simulation = Simulation(document)
        config = configuration.parse(self.simulation.document, simulated=True)
        self.daemon = Daemon(config, data_dir=data, pin_factory=self.simulation.pin_factory,
                             open_capture=self.simulation.open_capture, clock=clock)
        self.daemon.commands.update(self.simulation.commands())
        self.failure: list[BaseException] = []
        self.loop = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.daemon.run()
        except BaseException as exc:  # what would end `hotline run` and have systemd restart it
            self.failure.append(exc)

    def __enter__(self) -> Box:
        try:
            self.daemon.start()
        except BaseException:
            self.simulation.close()
            raise
        self.loop.start()
        # READY=1 no longer waits for the prompts: a filler taken while they are still being made would leave
        # their temporary files' room free again, and the disk would not be full when the test says it is
        assert self.daemon.prompts_made.wait(120), "the box's prompts were not made within 120 s"
        return self

    def __exit__(self, *exc: object) -> None:
        self.daemon.stop()
        self.loop.join(10)
        self.simulation.close()

    def alarms(self) -> dict[str, dict]:
        return {a["id"]: a for a in control.call(self.daemon.control_path, "status")["alarms"]}

    def pin(self, number: int) -> int:
        return self.simulation.pin_factory.pin(number).state

    def take_a_call(self) -> str:
        """A caller rings and chooses, a desk rings and lifts, they talk, the caller hangs up; the desk's id."""
        emulator = self.simulation.emulators["gsm1"]
        answered = emulator.count("ATA")
        emulator.incoming_call(CALLER)
        wait_until(lambda: emulator.count("ATA") > answered, 5, "the box to answer")
        wait_until(lambda: loop_status(self.daemon)["calls"], 5, "the call in the flow")
        emulator.send_dtmf("10")  # English, then "anything else"
        desk = wait_until(lambda: next((h for h, n in RING.items() if self.pin(n)), None), 10, "a handset ringing")
        self.simulation.pin_factory.pin(HOOK[desk]).drive_low()
        wait_until(lambda: self.pin(AUDIO[desk]), 5, f"{desk} connected to the caller")
        time.sleep(0.5)  # the behaviour: they talk for a moment, so the record has a talk time
        emulator.remote_hangup()
        wait_until(lambda: not self.pin(AUDIO[desk]), 5, f"{desk} released")
        self.simulation.pin_factory.pin(HOOK[desk]).drive_high()
        wait_until(lambda: not loop_status(self.daemon)["calls"], 5, "the call over")
        return desk


def a_call_left_in_the_journal(data: Path, filler: Filler, clock: SystemTime | None = None,
                               **document_changes: object) -> str:
    """The disk fills, a caller is answered and routed, and the box stops while the disk is still full: the call's
    record waits in the journal (calls.journal) for the next start. The desk that took it."""
    with Box(data, clock, **document_changes) as box:
        filler.fill()
        return box.take_a_call()


def check(tmp_path: Path, data: Path) -> subprocess.CompletedProcess:
    """`hotline check` as an admin runs it on the box."""
    document = configuration.default_document()
    document["lines"][0]["port"] = "loop://"  # a real box's config: no simulator port
    config = tmp_path / "hotline.toml"
    config.write_text(tomli_w.dumps(document))
    return subprocess.run([sys.executable, "-m", "appliance.cli", "check", "--no-hardware", "--config", str(config),
                           "--data", str(data)], capture_output=True, text=True, timeout=60)


def calls(data: Path) -> list[dict]:
    with sqlite3.connect(f"file:{data / 'calls.db'}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM calls ORDER BY started_at")]


def events(data: Path, call_id: str) -> list[str]:
    with sqlite3.connect(f"file:{data / 'calls.db'}?mode=ro", uri=True) as conn:
        return [r[0] for r in conn.execute("SELECT event FROM call_events WHERE call_id = ? ORDER BY at", [call_id])]


def test_a_call_on_a_full_disk_is_answered_routed_and_written_once_space_returns(tmp_path):
    data = tmp_path / "data"
    with tiny_filesystem(data, 24), Box(data) as box:
        filler = Filler(data)
        filler.fill()
        desk = box.take_a_call()  # answered and routed: take_a_call fails if the caller was hung up on

        alarm = wait_until(lambda: box.alarms().get("disk.write"), 5, "the disk.write alarm")
        assert alarm["severity"] == "error"
        assert "cannot be written" in alarm["text"] and "Calls are still answered" in alarm["text"]
        assert "disk.low" in box.alarms()
        assert calls(data) == []  # nothing could be written yet
        checked = check(tmp_path, data)
        assert checked.returncode == 1 and "alarm disk.write (error): call records cannot be written" in checked.stderr

        filler.free()
        finished = wait_until(lambda: [c for c in calls(data) if c["ended_at"]], 30, "the record written")
        (record,) = calls(data)
        assert finished == [record]
        assert record["caller"] == CALLER and record["handset"] == desk and record["outcome"] == "completed"
        assert events(data, record["id"]).count("CONNECT") == 1  # in order, nothing written twice
        wait_until(lambda: "disk.write" not in box.alarms(), 5, "the disk.write alarm cleared")
        assert not box.failure


def test_records_waiting_for_space_outlive_a_restart_in_the_journal(tmp_path):
    data = tmp_path / "data"
    with tiny_filesystem(data, 24):
        filler = Filler(data)
        desk = a_call_left_in_the_journal(data, filler)
        assert calls(data) == []  # stopped while the disk was still full
        filler.free()
        with Box(data) as box:
            (record,) = wait_until(lambda: [c for c in calls(data) if c["ended_at"]], 10, "the record written")
            assert record["handset"] == desk and record["outcome"] == "completed"
            assert events(data, record["id"]).count("CONNECT") == 1
            assert "disk.write" not in box.alarms()
        assert len(calls(data)) == 1


def test_a_full_disk_at_start_leaves_the_daemon_running_answering_and_showing_the_alarm(tmp_path):
    data = tmp_path / "data"
    retention = {"calls": 30}  # maintenance runs at start and has something to delete
    with tiny_filesystem(data, 24):
        with Box(data, retention=retention):
            pass  # an earlier run made the database
        # The web app reads calls.db all the time, so its -wal and -shm files stay (as after a crash).
        web = sqlite3.connect(data / "calls.db")
        old = time.time() - 90 * 86400
        with web:
            web.execute("INSERT INTO calls (id, line, started_at, ended_at, outcome) "
                        "VALUES ('old', 'gsm1', ?, ?, 'completed')", [old, old + 60])
        filler = Filler(data)
        filler.fill()
        try:
            with Box(data, retention=retention) as box:
                alarm = wait_until(lambda: box.alarms().get("maintenance.retention"), 10, "the retention alarm")
                assert alarm["severity"] == "error" and "tried again" in alarm["text"]
                assert "MB free" in box.alarms()["disk.low"]["text"]
                box.take_a_call()
                assert box.loop.is_alive() and not box.failure

                filler.free()
                wait_until(lambda: [c for c in calls(data) if c["id"] != "old" and c["ended_at"]], 30,
                           "the new call written")
            assert not box.failure
        finally:
            web.close()


def test_a_full_disk_at_boot_gives_back_the_reserve_so_the_records_open(tmp_path):
    data = tmp_path / "data"
    with tiny_filesystem(data, 24):
        with Box(data):
            wait_until(lambda: (data / "space.reserve").exists(), 5, "the space reserve made")
        filler = Filler(data)
        filler.fill()  # then a clean reboot: SQLite needs room for its -shm file even to read
        with Box(data) as box:
            alarm = box.alarms()["disk.reserve"]
            assert "full at start" in alarm["text"]
            box.take_a_call()
            wait_until(lambda: [c for c in calls(data) if c["ended_at"]], 5, "the call written")
            assert not box.failure


class Receiver(BaseHTTPRequestHandler):
    """A CRM's webhook endpoint: refuses (HTTP 500) until told to accept."""

    accept = False
    received: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(self.headers["X-Hotline-Event"])
        self.send_response(200 if Receiver.accept else 500)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_webhook_outbox_on_a_full_disk_is_an_alarm_retried_not_a_stop(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hooks = [{"url": f"http://127.0.0.1:{server.server_port}/hook", "secret": "s" * 16, "events": ["call.ended"],
              "allow_http": True, "allow_private": True}]  # a receiver on loopback
    data = tmp_path / "data"
    try:
        with tiny_filesystem(data, 24), Box(data, webhooks=hooks) as box:
            box.take_a_call()
            wait_until(lambda: Receiver.received, 10, "the first delivery (refused)")
            filler = Filler(data)
            filler.fill()
            Receiver.accept = True  # the retry (5 s later) is delivered, but the outbox cannot be updated

            alarm = wait_until(lambda: box.alarms().get("maintenance.webhooks"), 20, "the webhooks alarm")
            assert alarm["severity"] == "error" and "webhooks cannot be sent" in alarm["text"]
            assert box.loop.is_alive() and not box.failure
            box.take_a_call()  # callers are still answered and routed

            filler.free()
            wait_until(lambda: "maintenance.webhooks" not in box.alarms(), 30, "the webhooks alarm cleared")
            assert box.loop.is_alive() and not box.failure
    finally:
        server.shutdown()


def test_a_second_start_on_a_still_full_disk_answers_and_shares_the_records_once_space_returns(tmp_path):
    data = tmp_path / "data"
    with tiny_filesystem(data, 24):
        with Box(data):
            wait_until(lambda: (data / "space.reserve").exists(), 5, "the space reserve made")
        filler = Filler(data)
        filler.fill()
        with Box(data) as box:
            assert "disk.reserve" in box.alarms()  # the first start on a full disk used the reserve
        filler.fill()  # whatever filled the disk takes the reserve's room too; the box restarts again
        with Box(data) as box:
            alarm = box.alarms()["disk.exclusive"]
            assert alarm["severity"] == "error" and "web pages cannot read them" in alarm["text"]
            desk = box.take_a_call()
            filler.free()

            def shared_and_written() -> list[dict]:
                try:
                    return [c for c in calls(data) if c["ended_at"]]  # a reader, as the web app is
                except sqlite3.OperationalError:
                    return []  # still "database is locked"

            (record,) = wait_until(shared_and_written, 30, "the records shared again, with the call")
            assert record["handset"] == desk
            assert "disk.exclusive" not in box.alarms()
            box.take_a_call()
            wait_until(lambda: len(shared_and_written()) == 2, 10, "the next call written as usual")
            assert not box.failure


def test_hotline_check_warns_of_a_small_data_disk_with_no_daemon_running(tmp_path):
    data = tmp_path / "data"
    with tiny_filesystem(data, 24):
        checked = check(tmp_path, data)
    assert checked.returncode == 1 and ": OK" in checked.stdout, checked.stdout + checked.stderr
    assert "alarm disk.low (warning): the data disk" in checked.stdout and "MB free of 24 MB" in checked.stdout


def test_a_tiny_data_disk_at_start_is_named_not_a_silent_prompt(tmp_path):
    data = tmp_path / "data"
    with tiny_filesystem(data, 2):
        box = Box(data)
        try:
            box.__enter__()
        except Exception as exc:  # "hotline could not start: ..."
            message = str(exc)
        else:  # or it starts on what it has, and its alarms say what is wrong
            try:
                # its prompts are made after READY=1; the disk's own alarm (disk.low) names the disk by design
                message = " ".join(alarm["text"] for name, alarm in box.alarms().items() if name.startswith("prompt"))
            finally:
                box.__exit__()
    # Named as the prompt cache, not by its absolute path (messages show no paths: issue 15, finding 13).
    assert "is full" in message and "prompt cache" in message and str(data) not in message, message
    assert "silent" not in message.split("(")[0]


def test_a_voicemail_on_a_full_disk_ends_the_call_cleanly_and_the_next_one_is_recorded(tmp_path):
    data = tmp_path / "data"
    with tiny_filesystem(data, 24), Box(data) as box:
        emulator = box.simulation.emulators["gsm1"]

        def leave_a_message(disk_full: bool) -> None:
            answered = emulator.count("ATA")
            emulator.incoming_call(CALLER)
            wait_until(lambda: emulator.count("ATA") > answered, 5, "the box to answer")
            wait_until(lambda: loop_status(box.daemon)["calls"], 5, "the call in the flow")
            emulator.send_dtmf("13")  # English, then "leave a message"
            if not disk_full:
                wait_until(lambda: box.daemon.recorders["gsm1"].recording, 10, "the recording to start")
                recorder = box.daemon.recorders["gsm1"]
                heard = recorder.frames_captured
                box.simulation.microphones["gsm1"].speak(3)
                wait_until(lambda: recorder.frames_captured >= heard + 8000 * 3.3, 10, "the caller's 3 s recorded")
                emulator.send_dtmf("#")
            # The box thanks the caller and hangs up by itself: on a full disk once the message cannot be kept.
            wait_until(lambda: not loop_status(box.daemon)["calls"], 20, "the call over")
            assert emulator.wait_for("ATH", 5)

        filler = Filler(data)
        filler.fill()
        leave_a_message(disk_full=True)  # nowhere to keep the message; the caller is let go, not left hanging
        assert box.loop.is_alive() and not box.failure
        filler.free()
        leave_a_message(disk_full=False)
        wait_until(lambda: len(calls(data)) == 2, 30, "both records written")

        def voicemails() -> list[str]:
            with sqlite3.connect(f"file:{data / 'calls.db'}?mode=ro", uri=True) as conn:
                return [row[0] for row in conn.execute("SELECT path FROM voicemails")]

        (path,) = wait_until(voicemails, 20, "the second message saved")
        assert (data / path).stat().st_size > 1000


def test_the_clock_set_while_the_disk_is_full_is_retried_and_deletes_nothing(tmp_path):
    data, synced = tmp_path / "data", tmp_path / "synchronized"  # no sync file yet: booted with the clock unset
    offset = [-50 * 365 * 86400.0]  # a Pi without a real-time clock boots in 1970
    clock = SystemTime(synced, wall=lambda: time.time() + offset[0])
    with tiny_filesystem(data, 24), Box(data, clock=clock, retention={"calls": 30}) as box:
        box.take_a_call()
        (record,) = wait_until(lambda: [c for c in calls(data) if c["ended_at"]], 10, "the call written")
        assert record["started_at"] < 10 * 365 * 86400  # stamped in the 1970s, provisionally
        filler = Filler(data)
        filler.fill()
        offset[0] = 0.0
        synced.touch()  # NTP sets the clock while the disk is full

        alarm = wait_until(lambda: box.alarms().get("maintenance.restamp"), 15, "the restamp alarm")
        assert "tried again" in alarm["text"]
        assert box.loop.is_alive() and not box.failure
        assert [c["id"] for c in calls(data)] == [record["id"]]  # retention waits: 1970 is not "old"

        filler.free()
        wait_until(lambda: "maintenance.restamp" not in box.alarms(), 20, "the restamp done")
        (moved,) = calls(data)
        assert abs(moved["started_at"] - time.time()) < 3600  # the true time
        assert box.loop.is_alive() and not box.failure


def test_records_a_full_disk_kept_over_a_restart_move_to_the_true_time_when_the_clock_is_set(tmp_path):
    """Booted in 1970, a call on a full disk waits in calls.journal, the box restarts (same boot, clock still
    unset), NTP sets the clock while the disk is still full, then space returns: the record is written and moved
    to the true time like every record stamped before, and retention (30 days) keeps it."""
    data, synced = tmp_path / "data", tmp_path / "synchronized"
    offset = [-50 * 365 * 86400.0]
    clock = SystemTime(synced, wall=lambda: time.time() + offset[0])
    with tiny_filesystem(data, 24):
        filler = Filler(data)
        a_call_left_in_the_journal(data, filler, clock=clock, retention={"calls": 30})
        assert calls(data) == []  # stopped while the disk was full: the call waits in the journal
        with Box(data, clock=clock, retention={"calls": 30}) as box:
            filler.fill()  # whatever the start freed (the space reserve) is taken again
            offset[0] = 0.0
            synced.touch()  # NTP sets the clock while the disk is full
            wait_until(lambda: "clock.unset" not in box.alarms(), 15, "the clock seen set")
            filler.free()
            (record,) = wait_until(lambda: [c for c in calls(data) if c["ended_at"]], 30, "the record written")
            wait_until(lambda: not {"maintenance.restamp", "disk.write"} & set(box.alarms()), 30, "the restamp done")
            (record,) = calls(data)
            assert abs(record["started_at"] - time.time()) < 3600 and abs(record["ended_at"] - time.time()) < 3600
            assert not box.failure


def test_a_synced_start_with_records_waiting_for_space_raises_no_restamp_alarm(tmp_path):
    """Nothing was stamped provisionally: records waiting in the journal hold back no move of stamps."""
    data = tmp_path / "data"
    with tiny_filesystem(data, 24):
        filler = Filler(data)
        a_call_left_in_the_journal(data, filler)
        with Box(data) as box:
            filler.fill()
            wait_until(lambda: "disk.write" in box.alarms(), 15, "the records waiting for space")
            assert "maintenance.restamp" not in box.alarms()
        filler.free()


def test_signing_in_on_a_full_disk_says_why_and_the_api_still_shows_the_alarms(tmp_path):
    import re

    from web import create_app

    def csrf(page: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    data = tmp_path / "data"
    with tiny_filesystem(data, 24), Box(data) as box:
        app = create_app(data, control_path=box.daemon.control_path)
        client = app.test_client()
        client.post("/setup", data={"username": "admin", "password": "correct horse", "password2": "correct horse",
                                    "lang": "en", "csrf_token": csrf(client.get("/setup").text),
                                    "setup_code": (data / "setup-code").read_text().strip()})
        filler = Filler(data)
        filler.fill()
        wait_until(lambda: "disk.low" in box.alarms(), 5, "the disk.low alarm")
        browser = app.test_client()
        reply = browser.post("/login", data={"username": "admin", "password": "correct horse",
                                             "csrf_token": csrf(browser.get("/login").text)})
        assert reply.status_code == 503 and "cannot write to its data disk" in reply.text
        token = (data / "api-token").read_text().strip()
        status = app.test_client().get("/api/status", headers={"Authorization": f"Bearer {token}"})
        assert status.status_code == 200 and "disk.low" in [a["id"] for a in status.get_json()["alarms"]]
        filler.free()
