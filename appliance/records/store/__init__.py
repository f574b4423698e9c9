"""The call records: schema, migrations, the daemon's writer and everyone's readers (sqlite-utils)."""

import sys

if "sqlite_utils" not in sys.modules and "numpy" not in sys.modules:
    # sqlite-utils imports numpy, when installed, only to store numpy values; the box never hands it any.
    # Hiding numpy while it loads spares the daemon ~100 ms and ~12 MB on a Pi Zero; the DTMF detector
    # still imports numpy later, lazily, on the lines that need it.
    sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        import sqlite_utils  # noqa: F401
    finally:
        del sys.modules["numpy"]
