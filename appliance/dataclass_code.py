"""The code `@dataclass` generates for the daemon's classes, compiled once at install instead of at every start.

`@dataclass` writes each class's __init__, __repr__, __eq__, __hash__, __setattr__... as Python source and compiles
it while the module is imported: ~590 functions for the daemon's ~130 classes (~130 since all but their __init__s
are shared: core/lean.py), 35-49 ms of the ~170 ms its imports took here (about ten times that on a Pi Zero), at
every start, for source that depends only on the classes' fields. So the install's bytecode step (ops/bytecode.py)
imports the daemon's modules once with `record()`, and writes each source text with the code it compiles to into the
bytecode prefix (the daemon's user cannot write there); `hotline run` calls `use()` before it loads the box, and
dataclasses are handed that code instead of compiling the same text again. The only thing replaced is the compiling:
`use()` puts an `exec` into the dataclasses module's namespace, where its one `exec(text, globals, ns)` call finds
it before the builtin, and that `exec` runs the recorded code for a text it knows and compiles any other text
(another version's class, one added since) as the builtin would. No file (a tree run from source, tests): nothing
changes. Each entry is dropped once used: what stays in the daemon is the functions, as before.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
import marshal
import sys
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from types import CodeType
from typing import Any

log = logging.getLogger(__name__)

# The modules `hotline run` loads before READY=1 (and with them, everything they import).
DAEMON = ("appliance.cli.serve", "appliance.service.daemon")


def _file(prefix: str | Path) -> Path:
    # Code objects are for one interpreter version: its cache tag (cpython-311) names the file, and its bytecode's
    # magic number (which a patch release may change) is checked inside.
    return Path(prefix) / f"hotline-dataclasses.{sys.implementation.cache_tag}.marshal"


class _Exec:
    """exec() for dataclasses: the recorded code for a text it knows, the text compiled as exec would otherwise.

    Entries are (code, uses): classes with the same fields share a text, and an entry is dropped at its last use."""

    def __init__(self, known: dict[str, tuple[CodeType, int]]) -> None:
        self.known = known
        self.compiled: dict[str, tuple[CodeType, int]] = {}  # texts met that were not known: what record() writes

    def __call__(self, source: Any, globals: dict | None = None, locals: Any = None, /) -> None:  # noqa: A002
        if isinstance(source, str):
            code, uses = self.known.pop(source, (None, 0))
            if code is not None and uses > 1:
                self.known[source] = (code, uses - 1)
            if code is None:
                # dont_inherit: the flags exec gives the dataclasses module's text (not this module's __future__)
                code, seen = self.compiled.get(source, (None, 0))
                code = code or compile(source, "<string>", "exec", dont_inherit=True)
                self.compiled[source] = (code, seen + 1)
            source = code
        builtins.exec(source, globals, locals)


def use(prefix: str | None = None) -> None:
    """Hand dataclasses the code recorded in the bytecode prefix (none, or unreadable: they compile as ever)."""
    prefix = prefix or sys.pycache_prefix
    if not prefix:
        return
    try:
        known = marshal.loads(_file(prefix).read_bytes())
    except (OSError, ValueError, EOFError, TypeError) as exc:  # none, or not marshal
        log.debug("no dataclass code recorded at install (%s): compiled at start", exc)
        return
    if isinstance(known, dict) and known.get("magic") == MAGIC_NUMBER:
        dataclasses.exec = _Exec(known["code"])  # type: ignore[attr-defined]


def record(prefix: Path, modules: tuple[str, ...] = DAEMON) -> int:
    """Import `modules` (in a fresh interpreter, before any of the box is loaded) and write the code dataclasses
    compiled for them under `prefix`; returns how many functions were made."""
    recorder = _Exec({})
    dataclasses.exec = recorder  # type: ignore[attr-defined]
    try:
        for module in modules:
            __import__(module)
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
    path = _file(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(marshal.dumps({"magic": MAGIC_NUMBER, "code": recorder.compiled}))
    partial.replace(path)
    return sum(uses for _, uses in recorder.compiled.values())


if __name__ == "__main__":  # python -m appliance.dataclass_code PREFIX: a fresh interpreter, as install needs
    print(f"{record(Path(sys.argv[1]))} dataclass functions recorded")
