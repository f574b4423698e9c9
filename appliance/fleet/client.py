"""The box's MQTT connection (paho-mqtt): its own thread, never the daemon's loop.

paho's loop thread connects, reconnects with a growing delay, and runs the callbacks. The daemon's loop
only hands messages over: a publish is a queued write that wakes paho's thread, never a network wait.
While the broker is away the retained status is simply the latest one (sent on reconnect), and events
wait in a bounded queue, the oldest dropped first, so a box left without its broker for a week does not
fill its memory.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from ..config.fleet import FleetConfig

log = logging.getLogger(__name__)

PREFIX = "hotline"
QOS = 1  # at least once: a status or an event the broker has not acknowledged is sent again
RETRY_MAX = 30  # s: the longest wait between tries while the broker is away (paho doubles it from 1 s)


def topic(box: str, kind: str) -> str:
    """hotline/<box>/status | events | online | moves"""
    return f"{PREFIX}/{box}/{kind}"


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


class FleetClient:
    """Publishes this box's status, events and presence; hands every sibling's messages to `heard`."""

    def __init__(self, config: FleetConfig, *, heard: Callable[[str, bytes], None] | None = None,
                 on_change: Callable[[bool], None] | None = None, publishing: bool = True) -> None:
        """publishing=False: only listen (`hotline fleet` on a laptop), never speak for the box."""
        self.config = config
        self.publishing = publishing
        self._heard = heard
        self._on_change = on_change
        self._lock = threading.Lock()
        self._connected = False
        self._status: bytes | None = None  # the latest status, sent retained on every (re)connect
        self._pending: collections.deque[bytes] = collections.deque(maxlen=config.queue)
        self.dropped = 0  # events lost because the broker was away longer than the queue holds
        self.published = 0  # messages handed to the broker (for the bench: messages per minute)
        # A listener gets a name of its own from the broker: it must not take over the box's session.
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hotline-{config.box}" if publishing else "",
                             protocol=mqtt.MQTTv311, clean_session=True)
        if config.username is not None:
            client.username_pw_set(config.username, config.password)
        if config.tls:
            client.tls_set(ca_certs=config.ca_file)  # the broker's certificate and name are checked
        if publishing:
            client.will_set(topic(config.box, "online"), encode({"box": config.box, "online": False}), QOS,
                            retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=RETRY_MAX)
        client.on_connect = self._connected_cb
        client.on_disconnect = self._disconnected_cb
        client.on_message = self._message_cb
        self._client = client
        self._subscribe = True

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._connected

    def start(self, subscribe: bool = True) -> None:
        self._subscribe = subscribe
        self._client.connect_async(self.config.host, self.config.port, keepalive=int(self.config.keepalive))
        self._client.loop_start()

    def close(self) -> None:
        """Say goodbye (offline, retained) so siblings see a box stopped on purpose at once, then stop."""
        with self._lock:
            was = self._connected
            self._connected = False
        if was and self.publishing:
            info = self._client.publish(topic(self.config.box, "online"),
                                        encode({"box": self.config.box, "online": False}), QOS, retain=True)
            try:
                info.wait_for_publish(timeout=2.0)
            except (RuntimeError, ValueError):  # the connection went meanwhile: the will says it instead
                pass
        self._client.disconnect()
        self._client.loop_stop()

    def status(self, payload: dict[str, Any]) -> None:
        data = encode(payload)
        with self._lock:
            self._status = data
            if self._connected:
                self._send("status", data, retain=True)

    def event(self, payload: dict[str, Any]) -> None:
        data = encode(payload)
        with self._lock:
            if self._connected:
                self._send("events", data)
                return
            if self._pending.maxlen == 0 or len(self._pending) == self._pending.maxlen:
                self.dropped += 1
            if self._pending.maxlen:
                self._pending.append(data)

    def move(self, payload: dict[str, Any]) -> None:
        """A caller on the way to a sibling: sent now or never (a sibling matches it within seconds of the call
        arriving; one sent after a reconnect would meet another caller)."""
        with self._lock:
            if self._connected:
                self._send("moves", encode(payload))

    def _send(self, kind: str, data: bytes, retain: bool = False) -> None:
        """Under the lock, connected: a queued write (paho's thread sends it, and again until acknowledged)."""
        self._client.publish(topic(self.config.box, kind), data, QOS, retain=retain)
        self.published += 1

    # --- paho's thread ----------------------------------------------------------

    def _connected_cb(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            log.warning("fleet: the broker %s refused the connection: %s", self.config.url, reason)
            return
        log.info("fleet: connected to %s as %s", self.config.url, self.config.box)
        if self._subscribe:
            client.subscribe([(topic("+", "status"), QOS), (topic("+", "online"), QOS), (topic("+", "moves"), QOS)])
        with self._lock:
            self._connected = True
            if self.publishing:
                self._send("online", encode({"box": self.config.box, "online": True}), retain=True)
            if self._status is not None:
                self._send("status", self._status, retain=True)
            while self._pending:  # the events of the time away, oldest first
                self._send("events", self._pending.popleft())
        if self._on_change:
            self._on_change(True)

    def _disconnected_cb(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        with self._lock:
            was, self._connected = self._connected, False
        if was:
            log.warning("fleet: lost the broker %s (%s); events wait for it", self.config.url, reason)
        if self._on_change:
            self._on_change(False)

    def _message_cb(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._heard is not None:
            try:
                self._heard(message.topic, bytes(message.payload))
            except Exception:  # a sibling's odd message must never stop this box's MQTT thread
                log.exception("fleet: could not read %s", message.topic)
