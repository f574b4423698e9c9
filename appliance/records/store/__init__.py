"""The call records: schema, migrations, the daemon's writer and everyone's readers.

sqlite-utils is loaded only where it is used (the migrations, the access log, the salvage of a damaged log):
the daemon's writer and the readers run on plain sqlite3, so a running box does not hold it in memory.
"""

import sys
from types import ModuleType


def sqlite_utils_without_numpy() -> ModuleType:
    """The sqlite_utils module, imported the first time with numpy hidden.

    sqlite-utils imports numpy, when installed, only to store numpy values; the box never hands it any.
    Hiding numpy while it loads spares ~100 ms and ~12 MB on a Pi Zero; the DTMF detector still imports numpy
    later, lazily, on the lines that need it.
    """
    if "sqlite_utils" not in sys.modules and "numpy" not in sys.modules:
        sys.modules["numpy"] = None  # type: ignore[assignment]
        try:
            import sqlite_utils
        finally:
            del sys.modules["numpy"]
        return sqlite_utils
    import sqlite_utils

    return sqlite_utils
