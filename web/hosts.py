"""Only the box's own names and addresses in the Host header: a DNS-rebinding page gets a 400.

Hand-written rather than Flask's TRUSTED_HOSTS: werkzeug 3.1 cuts each trusted entry at its first
":" so no IPv6 address can ever match, and the box's addresses change with DHCP while a list is fixed
at start. An IP literal is accepted when the box could bind a socket to it, which is exactly "one of
my addresses, now"; names are localhost, the hostname and hostname.local, plus what the admin adds
(`hotline web --trusted-host NAME`).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable

from flask import Flask, current_app, jsonify, request

from .i18n import translate as _

DEFAULT_NAMES = ("localhost",)


def _split(host: str) -> str:
    """The name or address of a Host header value, without port or brackets, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_own_address(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if address.is_unspecified or address.is_multicast:
        return False
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((str(address), 0))  # EADDRNOTAVAIL unless an interface of this box has it
    except OSError:
        return False
    return True


def own_names(extra: Iterable[str] = ()) -> set[str]:
    hostname = socket.gethostname().lower()
    return {*DEFAULT_NAMES, hostname, f"{hostname}.local", *(name.lower().rstrip(".") for name in extra)}


def trusted(host: str, extra: Iterable[str] = ()) -> bool:
    name = _split(host).rstrip(".")
    return bool(name) and (name in own_names(extra) or _is_own_address(name))


# Each answer is kept a few seconds: every request asks (a dashboard polls each second), and finding out binds
# a socket, ~10 % of a dashboard request. An address the box loses (DHCP) is refused once its answer expires.
REMEMBER_SECONDS = 5.0
_REMEMBERED_AT_MOST = 64  # Host values answered; more (a scan of names) and all are forgotten at once
_answers: dict[tuple[str, tuple[str, ...]], tuple[float, bool]] = {}


def trusted_now(host: str, extra: tuple[str, ...]) -> bool:
    now = time.monotonic()
    kept = _answers.get((host, extra))
    if kept is not None and now - kept[0] < REMEMBER_SECONDS:
        return kept[1]
    answer = trusted(host, extra)
    if len(_answers) >= _REMEMBERED_AT_MOST:
        _answers.clear()
    _answers[(host, extra)] = (now, answer)
    return answer


def _check():
    host = request.headers.get("Host", "")
    if trusted_now(host, current_app.config["TRUSTED_HOSTS_EXTRA"]):
        return None
    message = _("This box does not answer to the name {host!r}; add it with hotline web --trusted-host.",
                host=host[:100])
    if request.path.startswith("/api/"):
        return jsonify(error=message), 400
    return message, 400, {"Content-Type": "text/plain; charset=utf-8"}


def install(app: Flask, extra: Iterable[str] = ()) -> None:
    """Runs before every other check, so a foreign Host reaches no page, not even the login page."""
    app.config["TRUSTED_HOSTS_EXTRA"] = tuple(extra)
    app.before_request_funcs.setdefault(None, []).insert(0, _check)
