"""The web process loads no OpenSSL: HTTPS is the front end's job (nginx, docs/security.md) and password hashes
are made in a helper process (web/passwords.py), so libssl and libcrypto (~5 MB resident) would be dead weight.

Flask still asks for both at import: werkzeug's development server imports http.server, whose http.client
imports `ssl`, and werkzeug.http imports `hashlib`, which loads `_hashlib` (libcrypto). Both have fallbacks
for an interpreter built without OpenSSL: http.client then has no HTTPSConnection, werkzeug's dev server no TLS
(neither is used here), and hashlib takes CPython's own SHA-1/SHA-256/MD5. While the web app is imported the
two modules read as absent; afterwards they are importable again, so anything that really needs TLS loads it
when it is used.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

OPENSSL_MODULES = ("ssl", "_ssl", "_hashlib")


@contextmanager
def without_openssl() -> Iterator[None]:
    """Imports inside see no OpenSSL modules (an import of one raises ImportError), unless already loaded."""
    absent = [name for name in OPENSSL_MODULES if name not in sys.modules]
    for name in absent:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not available" mark
    try:
        yield
    finally:
        for name in absent:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
