"""A real SMTP relay for tests (aiosmtpd): STARTTLS required with a self-signed certificate made here, and a
password login required after it; every message it accepts is kept, parsed, with the session it came on.

A test module takes the module-scoped `relay` fixture by importing `relay_fixture`, and points a box at it with
`smtp_settings`."""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from appliance.files import atomic_write
from tests.support.waiting import free_port

USER, PASSWORD = "hotline", "relay-pass-123"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """cert.pem and key.pem for localhost and 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage
    tls: bool
    login: str | None


@dataclass
class Relay:
    directory: Path
    port: int
    received: list[Received] = field(default_factory=list)
    cert: Path | None = None
    _controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message,
                                      session.ssl is not None, session.authenticated and USER))
        return "250 OK"

    def start(self) -> None:
        if self.cert is None:
            self.cert, self.key = self_signed(self.directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, tls_context=context,
                                      require_starttls=True, auth_require_tls=True, auth_required=True,
                                      authenticator=_check, server_hostname="localhost")
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def _check(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER.encode(),
                                                                                              PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module", name="relay")
def relay_fixture(tmp_path_factory) -> Iterator[Relay]:
    """A relay on a free port, running for the module's tests."""
    relay = Relay(tmp_path_factory.mktemp("relay"), free_port())
    relay.start()
    yield relay
    relay.stop()


def smtp_settings(relay: Relay, data: Path) -> dict[str, Any]:
    """The config's `smtp` section for a box on `data` that sends through `relay` (its password file written)."""
    atomic_write(data / "smtp-password", PASSWORD + "\n")
    return {"host": "localhost", "port": relay.port, "username": USER, "sender": "box@example.org",
            "ca_file": str(relay.cert)}
