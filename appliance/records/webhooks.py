"""Webhooks on call events, from a persistent outbox so nothing is lost across restarts.

The store puts one outbox row per endpoint in the same transaction as the call
data it describes. The sender (a thread in the daemon, records/webhook_sender.py, loaded only where an endpoint
is configured) posts due rows, signed as
Standard Webhooks (the Svix/Stripe convention) do: `webhook-id`, `webhook-timestamp`
and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so a
receiver can refuse a replayed or stale delivery. On failure it retries with
exponential backoff until `max_attempts`, after which the row stays in the outbox
marked failed.

Targets are https and public unless the admin says otherwise per endpoint
(`allow_http`, `allow_private`): a webhook is the one way data leaves the box,
and a URL pointing at the box itself or the LAN would make it a request forger.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import field

from appliance.core.lean import lean

EVENTS = ("call.started", "call.answered", "call.ended", "voicemail", "callback")
REPLAY_WINDOW = 300  # seconds: a receiver refuses a webhook-timestamp further than this from its clock
Post = Callable[[str, bytes, dict[str, str], float], int]
Resolve = Callable[[str], list[str]]
_LOCAL_NAMES = ("localhost", ".localhost", ".local", ".internal", ".lan", ".home.arpa")


@lean(frozen=True)
class Endpoint:
    url: str
    secret: str
    events: frozenset[str] = field(default_factory=lambda: frozenset(EVENTS))
    allow_http: bool = False  # plain http: only to a receiver the admin knows is on a trusted network
    allow_private: bool = False  # loopback, private, link-local targets (a CRM on the LAN)

    def __post_init__(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook url {self.url!r} must be https://host/...")
        if parts.scheme == "http" and not self.allow_http:
            raise ValueError(f"webhook {self.url}: plain http sends call data unencrypted; use https:// "
                             "(or set allow_http = true for a receiver on a trusted network)")
        if not self.allow_private and is_private_host(parts.hostname):
            raise ValueError(f"webhook {self.url}: {parts.hostname} is a loopback, private or link-local "
                             "target; set allow_private = true if the receiver really is on this box or the LAN")
        if len(self.secret) < 16:
            raise ValueError(f"webhook secret for {self.url} must be at least 16 characters")
        unknown = set(self.events) - set(EVENTS)
        if unknown:
            raise ValueError(f"webhook {self.url}: unknown event(s) {', '.join(sorted(unknown))}; "
                             f"choose from {', '.join(EVENTS)}")

    def refused_target(self, resolve: Resolve) -> str | None:
        """Why not to post now (the name resolves to a private address: DNS rebinding), or None."""
        if self.allow_private:
            return None
        host = urllib.parse.urlsplit(self.url).hostname or ""
        private = [a for a in resolve(host) if is_private_host(a)]
        return f"{host} resolves to {private[0]}, a private address (allow_private is off)" if private else None


def is_private_host(host: str) -> bool:
    """A loopback, private, link-local, multicast or unspecified address, or a name only a LAN knows."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower().rstrip(".").endswith(_LOCAL_NAMES) or host.lower() == "localhost"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def resolve(host: str) -> list[str]:
    """Every address the name has now (an unresolvable name gives none: the post itself then fails)."""
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
    except OSError:
        return []


def enqueue(db, endpoints: Iterable[Endpoint], event: str, data: dict, at: float) -> int:
    """Queue `event` for every endpoint that wants it, inside the caller's transaction; returns rows queued."""
    rows = []
    for endpoint in endpoints:
        if event in endpoint.events:
            body = json.dumps({"event": event, "at": at, "data": data}, separators=(",", ":"), default=str)
            rows.append({"url": endpoint.url, "event": event, "body": body, "created_at": at, "attempts": 0,
                         "next_attempt_at": at})
    if rows:
        db["webhook_outbox"].insert_all(rows)
    return len(rows)
