"""Webhooks reach a real local HTTP server, signed, retried with backoff, and survive a restart of the sender."""

from __future__ import annotations

import json
import threading

import pytest

from appliance import config as configuration
from appliance.records.privacy import Privacy
from appliance.records.store.calls import CallStore
from appliance.records.webhook_sender import WebhookSender, verify
from appliance.records.webhooks import REPLAY_WINDOW, Endpoint
from tests.support.calls import NUMBER, record, write
from tests.support.receiver import SECRET, Receiver


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def make_store(tmp_path, url: str, **endpoint) -> CallStore:
    """A store posting to the loopback receiver: plain http to a private address, so both are allowed."""
    return CallStore(tmp_path / "calls.db", privacy=Privacy.for_data_dir(tmp_path, "masked"),
                     webhooks=[Endpoint(url, SECRET, allow_http=True, allow_private=True, **endpoint)])


def outbox(store: CallStore) -> list[tuple]:
    return store.db.execute("SELECT event, attempts, delivered_at, failed_at, next_attempt_at FROM webhook_outbox "
                            "ORDER BY id").fetchall()


def test_call_events_are_delivered_signed_in_order(tmp_path, receiver):
    store = make_store(tmp_path, receiver.url)
    write(store, record("c1", 1000.0, voicemail="voicemail/c1.flac", callback=True))
    sender = WebhookSender(store.path, store.webhooks, clock=Clock(5000.0))
    assert sender.deliver_due() == 5
    got = receiver.take(5)
    events = [headers["X-Hotline-Event"] for _, headers, _ in got]
    # The message and the callback request come after the call: the caller hangs up to finish them.
    assert events == ["call.started", "call.answered", "call.ended", "voicemail", "callback"]
    for _, headers, body in got:
        assert verify(SECRET, body, headers, now=5000.0)
        assert not verify("somebody else's secret", body, headers, now=5000.0)
    ended = json.loads(got[2][2])
    assert ended["data"]["id"] == "c1" and ended["data"]["caller"] == "+7 *** ***-45-67"
    assert [e["event"] for e in ended["data"]["events"]][0] == "ANSWERED"
    assert NUMBER.encode() not in b"".join(body for _, _, body in got)  # the privacy mode holds outside too
    assert all(row[2] == 5000.0 for row in outbox(store))
    assert sender.deliver_due() == 0  # delivered once, not again
    sender.close()
    store.close()


def test_an_endpoint_gets_only_the_events_it_asked_for(tmp_path, receiver):
    store = make_store(tmp_path, receiver.url, events=frozenset({"voicemail"}))
    write(store, record("c1", 1000.0))
    write(store, record("c2", 2000.0, voicemail="voicemail/c2.flac"))
    assert [row[0] for row in outbox(store)] == ["voicemail"]
    store.close()
    with pytest.raises(ValueError, match="unknown event"):
        Endpoint("https://crm.example.com/hooks", SECRET, events=frozenset({"call.exploded"}))
    with pytest.raises(ValueError, match="must be https://"):
        Endpoint("ftp://crm", SECRET)


def test_a_failing_endpoint_is_retried_with_backoff_across_a_restart_of_the_sender(tmp_path):
    receiver = Receiver(statuses=[500, 503])
    try:
        store = make_store(tmp_path, receiver.url, events=frozenset({"call.started"}))
        store.call_started("c1", "gsm1", NUMBER, 1000.0)
        clock = Clock(1000.0)
        sender = WebhookSender(store.path, store.webhooks, clock=clock, base_delay=5)
        assert sender.deliver_due() == 0
        assert receiver.take(1)[0][0] == 500
        assert outbox(store) == [("call.started", 1, None, None, 1005.0)]
        clock.now = 1004.0
        assert sender.deliver_due() == 0 and receiver.received.empty()  # not due yet
        sender.close()  # the daemon restarts mid-retry

        clock.now = 1005.0
        sender = WebhookSender(store.path, store.webhooks, clock=clock, base_delay=5)
        assert sender.deliver_due() == 0
        assert receiver.take(1)[0][0] == 503
        assert outbox(store) == [("call.started", 2, None, None, 1015.0)]  # the wait doubles
        clock.now = 1015.0
        assert sender.deliver_due() == 1
        status, headers, body = receiver.take(1)[0]
        assert status == 200 and verify(SECRET, body, headers, now=1015.0)
        assert json.loads(body)["data"]["id"] == "c1"
        assert outbox(store) == [("call.started", 3, 1015.0, None, 1015.0)]
        sender.close()
        store.close()
    finally:
        receiver.close()


def test_an_unreachable_endpoint_is_kept_and_finally_marked_failed(tmp_path):
    dead = Receiver()
    url = dead.url
    dead.close()  # nothing listens on that port any more: connection refused
    store = make_store(tmp_path, url, events=frozenset({"call.started"}))
    store.call_started("c1", "gsm1", NUMBER, 0.0)
    clock = Clock(0.0)
    sender = WebhookSender(store.path, store.webhooks, clock=clock, base_delay=2, max_delay=10, max_attempts=5)
    waits = []
    for _ in range(5):
        sender.deliver_due()
        due = sender.next_due()
        waits.append(None if due is None else due - clock.now)
        clock.now = due if due is not None else clock.now
    assert waits == [2, 4, 8, 10, None]  # doubling, capped, then given up
    (event, attempts, delivered, failed, _), = outbox(store)
    assert attempts == 5 and delivered is None and failed is not None
    error = store.db.execute("SELECT last_error FROM webhook_outbox").fetchone()[0]
    assert "Connection refused" in error or "URLError" in error
    sender.close()
    store.close()


def test_the_running_sender_is_woken_by_a_new_call(tmp_path, receiver):
    store = make_store(tmp_path, receiver.url, events=frozenset({"call.started"}))
    sender = WebhookSender(store.path, store.webhooks)
    store.on_outbox = sender.wake
    stop = threading.Event()
    runner = threading.Thread(target=sender.run, args=(stop,))
    runner.start()
    try:
        store.call_started("c1", "gsm1", NUMBER, 1000.0)
        status, headers, _ = receiver.take(1)[0]  # arrives without waiting for any timer
        assert status == 200 and headers["X-Hotline-Event"] == "call.started"
    finally:
        stop.set()
        sender.wake()
        runner.join(5)
    assert not runner.is_alive()
    sender.close()
    store.close()


def test_answered_goes_out_when_the_operator_lifts_and_only_once(tmp_path, receiver):
    store = make_store(tmp_path, receiver.url)
    rec = record("c1", 1000.0)
    store.call_started("c1", "gsm1", NUMBER, 1000.0)
    store.call_connected("c1", "h2", "Boris", at=1012.0)
    assert [row[0] for row in outbox(store)] == ["call.started", "call.answered"]
    store.call_ended(rec)
    assert [row[0] for row in outbox(store)] == ["call.started", "call.answered", "call.ended"]
    store.close()


def test_a_delivery_is_signed_over_its_id_and_time_so_a_replay_or_a_changed_id_is_refused(tmp_path, receiver):
    store = make_store(tmp_path, receiver.url, events=frozenset({"call.started"}))
    store.call_started("c1", "gsm1", NUMBER, 1000.0)
    store.call_started("c2", "gsm1", NUMBER, 1001.0)
    sender = WebhookSender(store.path, store.webhooks, clock=Clock(1002.0))
    assert sender.deliver_due() == 2
    (_, first, body), (_, second, _) = receiver.take(2)
    first, second = ({k.lower(): v for k, v in h.items()} for h in (first, second))  # urllib capitalises names
    assert first["webhook-timestamp"] == "1002" and first["webhook-signature"].startswith("v1,")
    assert first["webhook-id"] != second["webhook-id"]
    assert verify(SECRET, body, first, now=1002.0 + REPLAY_WINDOW)
    assert not verify(SECRET, body, first, now=1002.0 + REPLAY_WINDOW + 1)  # the same request replayed later
    assert not verify(SECRET, body, {**first, "webhook-id": second["webhook-id"]}, now=1002.0)
    assert not verify(SECRET, body, {**first, "webhook-timestamp": "1100"}, now=1100.0)
    assert not verify(SECRET, body + b" ", first, now=1002.0)
    sender.close()
    store.close()


@pytest.mark.parametrize("url", ["https://127.0.0.1/hooks", "https://localhost:8443/", "https://10.1.2.3/",
                                 "https://192.168.1.20/", "https://169.254.169.254/latest/meta-data",
                                 "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://printer.local/"])
def test_a_loopback_private_or_link_local_target_needs_allow_private(url):
    with pytest.raises(ValueError, match="allow_private = true"):
        Endpoint(url, SECRET)
    assert Endpoint(url, SECRET, allow_private=True).url == url


def test_plain_http_needs_allow_http_and_the_config_names_the_webhook():
    with pytest.raises(ValueError, match="allow_http = true"):
        Endpoint("http://crm.example.com/hooks", SECRET)
    document = configuration.default_document()
    document["webhooks"] = [{"url": "https://crm.example.com/hooks", "secret": SECRET},
                            {"url": "http://crm.example.com/hooks", "secret": SECRET},
                            {"url": "https://127.0.0.1/hooks", "secret": SECRET, "allow_private": "yes"}]
    with pytest.raises(configuration.ConfigError) as refused:
        configuration.parse(document)
    problems = {p.field: p.message for p in refused.value.problems}
    assert set(problems) == {"webhooks[1]", "webhooks[2].allow_private"}
    assert "http://crm.example.com/hooks" in problems["webhooks[1]"]
    document["webhooks"][1]["allow_http"] = True
    document["webhooks"][2]["allow_private"] = True
    assert len(configuration.parse(document).records.webhooks) == 3


def test_a_public_name_that_resolves_to_a_private_address_is_not_posted_to(tmp_path):
    posted = []
    store = CallStore(tmp_path / "calls.db", privacy=Privacy.for_data_dir(tmp_path, "masked"),
                      webhooks=[Endpoint("https://crm.example.com/hooks", SECRET, events=frozenset({"call.started"}))])
    store.call_started("c1", "gsm1", NUMBER, 1000.0)
    sender = WebhookSender(store.path, store.webhooks, clock=Clock(1000.0), resolve=lambda host: ["10.0.0.7"],
                           post=lambda *args: posted.append(args) or 200)
    assert sender.deliver_due() == 0 and posted == []
    error = store.db.execute("SELECT last_error FROM webhook_outbox").fetchone()[0]
    assert "resolves to 10.0.0.7" in error
    sender.close()
    store.close()
