"""The pages' templates compiled once and kept as bytecode in the state directory (Jinja's own bytecode cache).

Compiling a template at its first render builds its syntax tree and Python source, and what that leaves behind
stays in the process's heap: ~1.3 MB for the login page alone, ~7 MB once every page has been shown. Loaded from
the cache, a template costs its code only. The cache is kept across restarts; each entry carries its template's
checksum and Jinja's and Python's versions, so an upgraded or edited template is compiled again. A cache that
cannot be written (a full disk) costs a compile, never the page.
"""

from __future__ import annotations

import logging
from pathlib import Path

from jinja2 import FileSystemBytecodeCache
from jinja2.bccache import Bucket

log = logging.getLogger("hotline.web")


class TemplateCache(FileSystemBytecodeCache):
    def __init__(self, directory: Path) -> None:
        try:
            directory.mkdir(mode=0o700, exist_ok=True)  # bytecode is run: only the box's own user may write it
        except OSError as exc:
            log.warning("the templates' cache %s cannot be made (%s): they are compiled at each start", directory, exc)
        super().__init__(str(directory))

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            pass  # not there or not readable: compiled, as with no cache

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as exc:
            log.warning("template %s not cached (%s): it is compiled again at the next start", bucket.key, exc)
