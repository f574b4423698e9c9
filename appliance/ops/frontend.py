"""The HTTPS front end's files: a self-signed certificate for this box and nginx's site config.

    hotline tls-cert DIR                             make DIR/hotline.crt and DIR/hotline.key unless both exist
    python -m appliance.ops.frontend nginx --out FILE    write the nginx site from frontend/nginx-hotline.conf

The installer runs both on a live box; on an image the certificate is made at first boot by
hotline-tls.service, so no two boxes share a key. Hand-written around the openssl command rather
than a Python crypto library: openssl is on every Raspberry Pi OS and makes the same files an admin
would make by hand.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2] / "frontend" / "nginx-hotline.conf"
CERT_NAME, KEY_NAME = "hotline.crt", "hotline.key"
DAYS = 3650  # self-signed: no authority would renew it, and an expiry would lock the admin out of the box


def render(template: str, *, cert: Path, key: Path, upstream: str = "127.0.0.1:8080", http_port: int = 80,
           https_port: int = 443) -> str:
    values = {"@HTTP_PORT@": str(http_port), "@HTTPS_PORT@": str(https_port),
              "@HTTPS_SUFFIX@": "" if https_port == 443 else f":{https_port}",
              "@UPSTREAM@": upstream, "@CERT@": str(cert), "@KEY@": str(key)}
    for placeholder, value in values.items():
        if any(ch in value for ch in ";{}\n#\"' "):
            raise ValueError(f"{placeholder.strip('@').lower()}: {value!r} cannot go into an nginx config")
        template = template.replace(placeholder, value)
    return template


def names(hostname: str | None = None) -> list[str]:
    """The subject alternative names: the box's names and its loopback addresses (LAN addresses change)."""
    hostname = (hostname or socket.gethostname()).lower()
    return [f"DNS:{hostname}", f"DNS:{hostname}.local", "DNS:localhost", "IP:127.0.0.1", "IP:::1"]


def make_certificate(directory: Path, hostname: str | None = None) -> bool:
    """A new self-signed certificate and key in `directory`, unless both exist (an admin's own are kept).

    Returns True when it made them. The key is written 0600 and renamed into place, so a crash never
    leaves nginx a half-written key.
    """
    cert, key = directory / CERT_NAME, directory / KEY_NAME
    if cert.exists() and key.exists():
        return False
    directory.mkdir(parents=True, exist_ok=True)
    hostname = (hostname or socket.gethostname()).lower()
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        new_cert, new_key = Path(scratch) / CERT_NAME, Path(scratch) / KEY_NAME
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", str(DAYS), "-subj", f"/CN={hostname}",
                        "-addext", "subjectAltName=" + ",".join(names(hostname)),
                        "-addext", "basicConstraints=critical,CA:FALSE",
                        "-addext", "extendedKeyUsage=serverAuth",
                        "-keyout", str(new_key), "-out", str(new_cert)],
                       check=True, capture_output=True, timeout=60)
        os.chmod(new_key, 0o600)
        os.chmod(new_cert, 0o644)
        os.replace(new_key, key)
        os.replace(new_cert, cert)
    return True


def _port(text: str) -> int:
    port = int(text)
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text} is not a port")
    return port


def _upstream(text: str) -> str:
    host, _, port = text.rpartition(":")
    ipaddress.ip_address(host.strip("[]"))  # an address, so nginx never resolves a name at start
    _port(port)
    return text


# Not __doc__: the daemon's unit runs Python with PYTHONOPTIMIZE=2, which drops docstrings.
DESCRIPTION = "The HTTPS front end's files: a self-signed certificate for this box and nginx's site config."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m appliance.ops.frontend", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    cert = sub.add_parser("cert", help="make a self-signed certificate unless one is there")
    cert.add_argument("directory", type=Path)
    cert.add_argument("--hostname")
    nginx = sub.add_parser("nginx", help="write the nginx site config")
    nginx.add_argument("--out", type=Path, required=True)
    nginx.add_argument("--tls-dir", type=Path, default=Path("/etc/hotline/tls"))
    nginx.add_argument("--upstream", type=_upstream, default="127.0.0.1:8080")
    nginx.add_argument("--http-port", type=_port, default=80)
    nginx.add_argument("--https-port", type=_port, default=443)
    args = parser.parse_args(argv)
    if args.command == "cert":
        try:
            made = make_certificate(args.directory, args.hostname)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"hotline: no certificate made in {args.directory}: {exc}", file=sys.stderr)
            return 1
        print(f"hotline: {'made a self-signed' if made else 'kept the'} certificate in {args.directory}")
        return 0
    text = render(TEMPLATE.read_text(encoding="utf-8"), cert=args.tls_dir / CERT_NAME, key=args.tls_dir / KEY_NAME,
                  upstream=args.upstream, http_port=args.http_port, https_port=args.https_port)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
