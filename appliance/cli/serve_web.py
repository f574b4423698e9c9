"""`hotline web`: the web app alone, as hotline-web.service runs it.

Apart from serve.py (the daemon's composition root), which imports the config model and with it most of the
core (~2 MB): the web process loads those only with the first config page that needs them (web/configure.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse


def web(args: argparse.Namespace) -> int:
    from .no_openssl import without_openssl

    with without_openssl():
        from waitress import serve

        from web import create_app
        from web.firstboot import announce

        app = create_app(args.data, trusted_hosts=args.trusted_host, behind_tls_proxy=args.behind_tls_proxy)
    if not app.extensions["web_store"].has_users():
        announce(args.data)
    serve(app, host=args.host, port=args.port, threads=4)
    return 0
