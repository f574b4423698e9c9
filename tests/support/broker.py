"""A real Mosquitto (Debian's package) for the fleet tests: TLS with a certificate made here, a password file,
on a free loopback port; stopped by its own pid, restarted on the same port and files."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from appliance import config as configuration
from tests.support.processes import stop
from tests.support.waiting import free_port, wait_until

USER, PASSWORD = "box", "fleet-test-password"
EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")  # made in milliseconds, unlike RSA


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certificates(directory: Path) -> Path:
    """A CA and a broker certificate for 127.0.0.1 and localhost signed by it; returns the CA's file."""
    _openssl("req", "-x509", *EC_KEY, "-nodes", "-days", "2", "-subj", "/CN=hotline test CA",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=directory)
    _openssl("req", *EC_KEY, "-nodes", "-subj", "/CN=localhost", "-keyout", "broker.key",
             "-out", "broker.csr", cwd=directory)
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "san.ext", "-out", "broker.pem", cwd=directory)
    return directory / "ca.pem"


class Broker:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.ca = make_certificates(directory)
        subprocess.run(["mosquitto_passwd", "-b", "-c", str(directory / "passwords"), USER, PASSWORD],
                       check=True, capture_output=True)
        (directory / "passwords").chmod(0o600)
        (directory / "mosquitto.conf").write_text("\n".join([
            "user root" if _root() else "",  # started as root it would switch to the mosquitto user, who may
            "persistence true",              # not read these files; its sessions outlast a restart
            f"persistence_location {directory}/",
            f"listener {self.port} 127.0.0.1",
            f"cafile {directory / 'ca.pem'}", f"certfile {directory / 'broker.pem'}",
            f"keyfile {directory / 'broker.key'}",
            "allow_anonymous false", f"password_file {directory / 'passwords'}", "",
        ]))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    def fleet(self, box: str, **extra: object) -> dict[str, object]:
        """The [fleet] table of a box using this broker."""
        return {"broker": self.url, "box": box, "username": USER, "password": PASSWORD, "ca_file": str(self.ca),
                **extra}

    def start(self) -> None:
        log = open(self.directory / "mosquitto.log", "ab")  # noqa: SIM115 - the broker's own stderr
        self.process = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c",
                                         str(self.directory / "mosquitto.conf")], stdout=log, stderr=log)
        log.close()
        wait_until(self._listening, 10, "mosquitto to listen")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, 10)
        self.process = None

    def _listening(self) -> bool:
        assert self.process is not None and self.process.poll() is None, (
            (self.directory / "mosquitto.log").read_text(errors="replace"))
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False


def _root() -> bool:
    import os

    return os.geteuid() == 0


class Listener:
    """A subscriber as an admin's laptop is: every hotline/# message, kept in order of arrival.

    `session` names a persistent session (clean_session off): the broker keeps its QoS 1 messages while it is
    away, across a broker restart too when the broker keeps its state on disk."""

    def __init__(self, broker: Broker, session: str | None = None) -> None:
        import threading

        import paho.mqtt.client as mqtt

        self._lock = threading.Lock()
        self.messages: list[tuple[str, dict | None, bool]] = []  # (topic, payload, retained)
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=session or "",
                                  clean_session=session is None)
        self.client.username_pw_set(USER, PASSWORD)
        self.client.tls_set(ca_certs=str(broker.ca))
        self.client.reconnect_delay_set(0.2, 1)
        self.client.on_connect = lambda c, *_: c.subscribe("hotline/#", qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._message
        self.client.connect_async("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the listener could not subscribe"

    def _message(self, client, userdata, message) -> None:
        import json

        payload = json.loads(message.payload) if message.payload else None
        with self._lock:
            self.messages.append((message.topic, payload, bool(message.retain)))

    def on(self, topic: str) -> list[dict]:
        with self._lock:
            return [payload for t, payload, _ in self.messages if t == topic and payload is not None]

    def last(self, topic: str) -> dict | None:
        found = self.on(topic)
        return found[-1] if found else None

    def raw(self) -> str:
        import json

        with self._lock:
            return json.dumps(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module", name="broker")
def broker_fixture(tmp_path_factory):
    """`broker`: one Mosquitto per test module (import broker_fixture into the module)."""
    broker = Broker(tmp_path_factory.mktemp("broker"))
    broker.start()
    yield broker
    broker.stop()


def fleet_document(broker: Broker, box: str, **extra: object) -> dict:
    """The shipped config with a [fleet] table for `box` on `broker`; a 2 s keep-alive, so a silent box is
    declared gone within 3 s."""
    document = configuration.default_document()
    document["fleet"] = broker.fleet(box, **{"keepalive": 2, **extra})
    return document


@pytest.fixture(scope="session", name="prompt_cache")
def prompt_cache_fixture(tmp_path_factory) -> Path:
    """`prompt_cache`: the shipped config's prompts spoken once for the session (espeak-ng takes seconds under
    load); each fleet box starts with a copy in its data directory, whose cache then holds them."""
    from appliance.audio.catalog import render_prompts

    cache = tmp_path_factory.mktemp("prompts")
    document = configuration.default_document()
    document["fleet"] = {"broker": "mqtt://127.0.0.1", "box": "cache"}  # a fleet box's own prompts too
    render_prompts(configuration.parse(document, simulated=True), cache)
    return cache


def box_data(cache: Path, data: Path) -> Path:
    """A new box's data directory with the spoken prompts already in it."""
    shutil.copytree(cache, data / "prompts")
    return data
