"""Alerts end to end: a real daemon on the pty modem emulator, a real SMTP relay (aiosmtpd, STARTTLS with a
self-signed certificate, password login) and the alert log in calls.db."""

from __future__ import annotations

import sqlite3
import time

import pytest

from appliance import config as configuration
from appliance.alerts.sender import AlertSender
from appliance.config.alerts import Smtp, parse_alerts
from appliance.core.box_events import BoxEvent
from appliance.files import atomic_write
from appliance.records.privacy import Privacy
from appliance.records.store.calls import CallStore
from appliance.records.store.retention import erase_caller
from tests.support.boxes import simulated_box
from tests.support.smtp_relay import PASSWORD, USER, relay_fixture, smtp_settings  # noqa: F401 (the `relay` fixture)
from tests.support.status import loop_status
from tests.support.waiting import wait_until

DUTY, PHONE = "duty@example.org", "+79990001111"


@pytest.fixture(scope="module")
def box(tmp_path_factory, relay):
    data = tmp_path_factory.mktemp("alerts")
    document = configuration.default_document()
    document["prompts"] = {name: dict(spec, text="Hi.") for name, spec in document["prompts"].items()}
    document["flow"] = {"start": "message", "nodes": {
        "message": {"type": "voicemail", "prompt": "record_message", "silence_seconds": 4, "min_seconds": 1,
                    "next": "bye"},
        "bye": {"type": "hangup"}}}
    document["lines"][0]["ussd_balance"] = "*100#"  # the emulator answers "Balance: 100.00 r"
    document["smtp"] = smtp_settings(relay, data)
    document["alerts"] = [
        {"event": "voicemail", "recipients": [DUTY], "channel": "email"},
        {"event": "voicemail", "recipients": [PHONE], "channel": "sms"},
        {"event": "low_balance", "recipients": [PHONE], "channel": "sms", "threshold": 200},
        {"event": "emergency_on", "recipients": [DUTY], "channel": "email"},
    ]
    with simulated_box(data, document) as (daemon, simulation):
        yield daemon, simulation, data


def log_rows(data) -> list[dict]:
    with sqlite3.connect(data / "calls.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM alerts ORDER BY id")]


def test_a_voicemail_is_mailed_with_its_audio_over_starttls_and_texted_through_the_modem(box, relay):
    daemon, simulation, data = box
    emulator = simulation.emulators["gsm1"]
    wait_until(lambda: loop_status(daemon)["lines"][0]["state"] == "up", what="the line up")
    emulator.incoming_call("+79160000001")
    recorder = wait_until(lambda: daemon.recorders["gsm1"].recording and daemon.recorders["gsm1"],
                          what="the recording to start")
    heard = recorder.frames_captured
    simulation.microphones["gsm1"].speak(2.0)
    wait_until(lambda: recorder.frames_captured >= heard + 8000 * 2.3, what="the caller's 2 s recorded")
    emulator.send_dtmf("#")
    mail = wait_until(lambda: [r for r in relay.received if "voicemail" in r.message["Subject"].lower()],
                      what="the voicemail e-mail at the relay")[0]
    assert mail.tls and mail.login == USER and mail.recipients == [DUTY] and mail.sender == "box@example.org"
    (path,) = wait_until(lambda: [p for (p,) in sqlite3.connect(data / "calls.db").execute(
        "SELECT path FROM voicemails")], what="the voicemail row")
    (audio,) = list(mail.message.iter_attachments())
    assert audio.get_content_type() == "audio/flac" and audio.get_content() == (data / path).read_bytes()
    assert "+79160000001" in mail.message.get_body().get_content()  # privacy mode full: the number is kept
    texts = wait_until(lambda: [t for n, t, _ in emulator.script.messages.sent_sms if n == PHONE and "voicemail" in t],
                       what="the SMS alert through AT+CMGS")
    assert "Helpline" in texts[0]
    wait_until(lambda: {(r["event"], r["channel"], r["state"]) for r in log_rows(data)}
               >= {("voicemail", "email", "sent"), ("voicemail", "sms", "sent")}, what="both alerts logged sent")


def test_the_low_balance_is_texted_when_below_the_threshold(box):
    daemon, simulation, data = box
    emulator = simulation.emulators["gsm1"]
    texts = wait_until(lambda: [t for n, t, _ in emulator.script.messages.sent_sms
                                if n == PHONE and "balance" in t.lower()],
                       what="the low-balance SMS")
    assert "100.00" in texts[0]


def test_an_alert_waits_for_a_relay_that_is_down_and_goes_when_it_is_back(box, relay):
    daemon, _, data = box
    daemon.alerting.sender.base_delay = 0.3  # the shipped 30 s first pause would make this test slow
    relay.stop()
    try:
        assert daemon.commands["announcement.set"]({"prompt": "closed"})["announcement"] == "closed"
        row = wait_until(lambda: [r for r in log_rows(data) if r["event"] == "emergency_on" and r["attempts"] >= 2],
                         what="failed attempts on the relay that is down")[0]
        assert row["state"] == "queued" and "Connection refused" in row["last_error"]
        assert any(a["id"] == "alerts.send" for a in loop_status(daemon)["alarms"])
        relay.start()
        wait_until(lambda: [r for r in relay.received if "emergency" in r.message["Subject"].lower()], timeout=15,
                   what="the e-mail once the relay is back")
        wait_until(lambda: not any(a["id"] == "alerts.send" for a in loop_status(daemon)["alarms"]),
                   what="the alarm cleared")
    finally:
        relay.start() if relay._controller is None else None
        daemon.commands["announcement.set"]({"prompt": None})


def test_masked_mode_keeps_the_voicemail_audio_on_the_box_and_quiet_hours_hold_alerts_as_a_digest(tmp_path, relay):
    (tmp_path / "vm.flac").write_bytes(b"fLaC-audio")
    atomic_write(tmp_path / "smtp-password", PASSWORD)
    CallStore(tmp_path / "calls.db").close()  # the schema, alert log included
    problems: list = []
    alerts = parse_alerts({"smtp": {"host": "localhost", "port": relay.port, "username": USER,
                                    "ca_file": str(relay.cert)},
                           "alerts": [{"event": "voicemail", "recipients": ["a@example.org"], "channel": "email"},
                                      {"event": "abandoned", "recipients": ["b@example.org"], "channel": "email",
                                       "quiet_hours": "00:00-23:59"}]}, problems)
    assert problems == [] and isinstance(alerts.smtp, Smtp)
    now = [time.time()]
    sender = AlertSender(tmp_path, alerts, box="Box", language="ru", timezone="UTC",
                         privacy=Privacy("masked", b"k" * 32), send_sms=lambda n, t: None, clock=lambda: now[0])
    sender.take(BoxEvent("voicemail", now[0], {"call_id": "c1", "path": "vm.flac", "seconds": 3.0,
                                               "caller": "+79161234567"}))
    for n in range(3):
        sender.take(BoxEvent("abandoned", now[0], {"call_id": f"c{n}", "caller": "+79161234567", "wait_seconds": 9}))
    sender.pass_once()
    mail = wait_until(lambda: [r for r in relay.received if r.recipients == ["a@example.org"]], what="the e-mail")[0]
    assert list(mail.message.iter_attachments()) == []
    body = mail.message.get_body().get_content()
    assert "+79161234567" not in body and "***-45-67" in body and "masked" in body and "голосовое" in body
    assert not [r for r in relay.received if r.recipients == ["b@example.org"]]  # quiet hours: held
    now[0] += 86400
    sender.pass_once()
    digest = [r for r in relay.received if r.recipients == ["b@example.org"]]
    assert len(digest) == 1 and "3" in digest[0].message["Subject"]
    sender.close()


def transcript_sender(tmp_path, relay, mode: str, now: list[float]) -> AlertSender:
    """A sender whose voicemails get transcripts (speech on), mailing `transcripts@example.org` through the relay."""
    atomic_write(tmp_path / "smtp-password", PASSWORD)
    CallStore(tmp_path / "calls.db").close()
    problems: list = []
    alerts = parse_alerts({"smtp": {"host": "localhost", "port": relay.port, "username": USER,
                                    "ca_file": str(relay.cert)},
                           "alerts": [{"event": "voicemail", "recipients": ["transcripts@example.org"],
                                       "channel": "email", "attach_audio": False}]}, problems)
    assert problems == []
    return AlertSender(tmp_path, alerts, box="Box", language="en", timezone="UTC",
                       privacy=Privacy(mode, b"k" * 32), send_sms=lambda n, t: None, clock=lambda: now[0],
                       transcript_due=lambda: True)


def mails_to_transcripts(relay) -> list:
    return [r.message for r in relay.received if r.recipients == ["transcripts@example.org"]]


def voicemail(call_id: str, at: float) -> BoxEvent:
    return BoxEvent("voicemail", at, {"call_id": call_id, "path": "vm.flac", "seconds": 9.0, "caller": "+79161234567"})


def left_voicemail(data, mode: str, call_id: str, at: float) -> CallStore:
    """The voicemail's row, as the daemon writes it before its alert is made (same key as the sender's)."""
    store = CallStore(data / "calls.db", privacy=Privacy(mode, b"k" * 32))
    store.voicemail_saved(call_id, "vm.flac", 9.0, "+79161234567", at=at)
    return store


def test_a_voicemail_alert_waits_for_its_transcript_and_carries_it(tmp_path, relay):
    relay.received.clear()
    now = [time.time()]
    sender = transcript_sender(tmp_path, relay, "full", now)
    sender.take(voicemail("c1", now[0]))
    sender.pass_once()
    assert [r["state"] for r in log_rows(tmp_path)] == ["awaiting"]  # the transcript is being made
    now[0] += 20
    sender.take(BoxEvent("transcript", now[0], {"call_id": "c1", "text": "my landlord wants me out by friday"}))
    sender.pass_once()
    (mail,) = wait_until(lambda: mails_to_transcripts(relay), what="the voicemail e-mail")
    body = mail.get_body().get_content()
    assert "new voicemail" in body and "+79161234567" in body and "my landlord wants me out by friday" in body
    sender.close()


def test_a_transcript_too_slow_for_the_alert_follows_it_and_masked_mode_keeps_it_on_the_box(tmp_path, relay):
    relay.received.clear()
    now = [time.time()]
    (tmp_path / "full").mkdir(), (tmp_path / "masked").mkdir()
    sender = transcript_sender(tmp_path / "full", relay, "full", now)
    left_voicemail(tmp_path / "full", "full", "c2", now[0]).close()
    sender.take(voicemail("c2", now[0]))
    sender.pass_once()
    now[0] += 121  # the people on duty hear of the message without waiting for a slow transcript
    sender.pass_once()
    (first,) = wait_until(lambda: mails_to_transcripts(relay), what="the alert without its transcript")
    assert "It says" not in first.get_body().get_content()
    sender.take(BoxEvent("transcript", now[0], {"call_id": "c2", "text": "please call me back tonight"}))
    sender.pass_once()
    followup = wait_until(lambda: mails_to_transcripts(relay)[1:], what="the transcript's own e-mail")[0]
    assert "transcript" in followup["Subject"].lower()
    assert "please call me back tonight" in followup.get_body().get_content()
    sender.close()

    relay.received.clear()
    masked = transcript_sender(tmp_path / "masked", relay, "masked", now)
    masked.take(voicemail("c3", now[0]))
    masked.pass_once()  # no wait: nothing of the transcript may leave the box
    (mail,) = wait_until(lambda: mails_to_transcripts(relay), what="the masked-mode alert")
    assert "transcript stays on the box" in mail.get_body().get_content()
    masked.take(BoxEvent("transcript", now[0], {"call_id": "c3", "text": "my name is olga petrova"}))
    masked.pass_once()
    assert len(mails_to_transcripts(relay)) == 1 and all("olga" not in m.get_body().get_content()
                                                          for m in mails_to_transcripts(relay))
    masked.close()


def test_a_transcript_that_comes_after_its_caller_was_erased_follows_no_alert(tmp_path, relay):
    relay.received.clear()
    now = [time.time()]
    sender = transcript_sender(tmp_path, relay, "full", now)
    store = left_voicemail(tmp_path, "full", "c4", now[0])
    sender.take(voicemail("c4", now[0]))
    sender.pass_once()
    now[0] += 121  # the alert goes without the transcript, which is still being made
    sender.pass_once()
    wait_until(lambda: mails_to_transcripts(relay), what="the alert without its transcript")
    erase_caller(store, "+79161234567", actor="admin", now=now[0])
    assert log_rows(tmp_path) == []  # the alert's text named the caller: gone with them
    sender.take(BoxEvent("transcript", now[0], {"call_id": "c4", "text": "my name is olga petrova"}))
    sender.pass_once()
    assert log_rows(tmp_path) == [] and len(mails_to_transcripts(relay)) == 1
    store.close()
    sender.close()
