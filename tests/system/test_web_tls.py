"""The HTTPS front end for real: nginx with the site config made from the shipped template, in front of the
web app on waitress, both on free high ports. HTTPS answers with the box's own certificate, HTTP sends
browsers to HTTPS, the session cookie is Secure, HSTS is on, and a foreign Host is refused."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.ops import frontend
from tests.support.processes import stop
from tests.support.waiting import free_port, wait_until
from tests.support.web_server import serving
from web import create_app

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (scripts/setup.sh test installs it)")


def _main_config(tmp: Path, site: Path) -> Path:
    """The parts of /etc/nginx/nginx.conf a packaged nginx gives the site, with every path in tmp."""
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / name).mkdir()
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers keep the test's own rights
    config = tmp / "nginx.conf"
    config.write_text(f"""{user}daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {site};
}}
""")
    return config


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    data, tmp = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("nginx")
    app = create_app(data, control_path=data / "none.sock", behind_tls_proxy=True)
    app.extensions["web_store"].create_first_admin("admin", "correct horse", "en")
    assert frontend.make_certificate(tmp / "tls")
    assert not frontend.make_certificate(tmp / "tls")  # a second run keeps the certificate (an admin's own too)
    http_port, https_port = free_port(), free_port()
    with serving(app, threads=2) as app_port:
        site = tmp / "hotline.conf"
        made = subprocess.run([sys.executable, "-m", "appliance.ops.frontend", "nginx", "--out", str(site),
                               "--tls-dir", str(tmp / "tls"), "--upstream", f"127.0.0.1:{app_port}",
                               "--http-port", str(http_port), "--https-port", str(https_port)],
                              capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
        assert made.returncode == 0, made.stderr
        config = _main_config(tmp, site)
        checked = subprocess.run([NGINX, "-t", "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(config)],
                                 capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, checked.stderr
        proc = subprocess.Popen([NGINX, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(config)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        context = ssl.create_default_context(cafile=str(tmp / "tls" / frontend.CERT_NAME))

        def https(method: str, path: str, host: str = "localhost", **kwargs) -> http.client.HTTPResponse:
            conn = http.client.HTTPSConnection("localhost", https_port, context=context, timeout=10)
            conn.request(method, path, headers={"Host": host, **kwargs.pop("headers", {})}, **kwargs)
            reply = conn.getresponse()
            reply.read()
            conn.close()
            return reply

        def answering():
            try:
                return https("GET", "/login")
            except OSError:
                return None

        try:
            wait_until(answering, 15, "nginx to answer on HTTPS")
            yield https, http_port, https_port
        finally:
            stop(proc, 15, signal.SIGQUIT)


def test_https_answers_with_the_boxs_certificate_and_hsts(front):
    https, _, _ = front
    reply = https("GET", "/login")  # verified against the box's own certificate, for the name localhost
    assert reply.status == 200
    assert reply.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "nginx/" not in reply.headers.get("Server", "")


def test_the_session_cookie_is_secure_http_only_and_same_site(front):
    https, _, _ = front
    cookie = https("GET", "/login").headers["Set-Cookie"]
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "samesite"} <= flags, cookie


def test_plain_http_sends_the_browser_to_https(front):
    _, http_port, https_port = front
    conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    conn.request("GET", "/calls?page=2", headers={"Host": "hotline.local"})
    reply = conn.getresponse()
    assert reply.status == 301
    assert reply.headers["Location"] == f"https://hotline.local:{https_port}/calls?page=2"


def test_a_foreign_host_is_refused_behind_the_front_end(front):
    https, _, _ = front
    assert https("GET", "/login", host="evil.example").status == 400
    assert https("GET", "/api/status", host="evil.example").status == 400
    assert https("GET", "/login", host="127.0.0.1").status == 200


def test_a_bad_value_cannot_reach_the_nginx_config(tmp_path):
    with pytest.raises(ValueError, match="cert"):
        frontend.render("ssl_certificate @CERT@;", cert=tmp_path / "a b;", key=tmp_path / "k")
