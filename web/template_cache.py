"""The pages' templates compiled once and kept as bytecode (Jinja's own bytecode cache), so a start loads them.

Compiling a template at its first render builds its syntax tree and Python source, and what that leaves behind
stays in the process's heap: ~1.3 MB for the login page alone, ~7 MB once every page has been shown. Loaded from
a cache, a template costs its code only. Two caches are read, in this order:

* the one the install made (`python -m web.template_cache PREFIX`, run by appliance/ops/bytecode.py from
  scripts/install.sh and its dpkg hook): every template compiled by this app's own Jinja environment into
  PREFIX/web-templates, the bytecode prefix the web unit names (PYTHONPYCACHEPREFIX), read-only to the web
  process. So even the first start after an install or upgrade compiles nothing. It is read first because it
  was made by the Jinja installed with it: an entry checks only its template's text and Python's version, not
  Jinja's, so after an upgrade of Jinja alone the state directory's older entries would still be taken;
* the state directory's (DATA/web-templates, 0700), where what the web process itself compiled is kept across
  restarts: a tree run from source, or a template the install did not compile.

An entry is taken only if its template's text is the one being loaded (and the same Python made it); any other is
compiled again. A cache that cannot be read or written (a full disk) costs a compile, never the page.
The install's cache must come from the app's own environment: one configured otherwise (other extensions,
filters or autoescaping) would make different code for the same text, and the cache would not notice.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from jinja2 import FileSystemBytecodeCache
from jinja2.bccache import Bucket

log = logging.getLogger("hotline.web")
FOLDER = "web-templates"  # in the state directory, and under the install's bytecode prefix


def installed(prefix: str | None = None) -> Path | None:
    """The install's compiled templates: under the bytecode prefix the web runs with (None: it has none)."""
    prefix = prefix or sys.pycache_prefix
    return Path(prefix) / FOLDER if prefix else None


class TemplateCache(FileSystemBytecodeCache):
    def __init__(self, directory: Path, made_at_install: Path | None = None) -> None:
        try:
            directory.mkdir(mode=0o700, exist_ok=True)  # bytecode is run: only the box's own user may write it
        except OSError as exc:
            log.warning("the templates' cache %s cannot be made (%s): they are compiled at each start", directory, exc)
        super().__init__(str(directory))
        self.install = FileSystemBytecodeCache(str(made_at_install)) if made_at_install else None

    def load_bytecode(self, bucket: Bucket) -> None:
        if self.install is not None:
            _load(self.install.load_bytecode, bucket)
        if bucket.code is None:  # Jinja writes back only what it compiles: an entry loaded from either stays put
            _load(super().load_bytecode, bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as exc:
            log.warning("template %s not cached (%s): it is compiled again at the next start", bucket.key, exc)


def _load(load: Callable[[Bucket], None], bucket: Bucket) -> None:
    try:
        load(bucket)
    except OSError:
        pass  # not readable: the next cache, or compiled as with none


def compile_all(prefix: Path) -> int:
    """Compile every template of the app into PREFIX/web-templates, replacing what an older install left there;
    returns how many. The app is made on a throwaway state directory; only its Jinja environment is used."""
    from web import create_app

    target = prefix / FOLDER
    prefix.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".web-templates-", dir=prefix) as scratch:
        env = create_app(Path(scratch) / "data").jinja_env
        made = Path(scratch) / FOLDER
        made.mkdir()
        # the app's environment as it renders pages, writing only to the new folder (not reading an older one)
        env.bytecode_cache = FileSystemBytecodeCache(str(made))
        names = env.list_templates()
        for name in names:
            env.get_template(name)
        for entry in (made, *made.iterdir()):  # read by the web unit's user, written by the installer only
            entry.chmod(0o755 if entry.is_dir() else 0o644)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(made, target)
    return len(names)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -OO -m web.template_cache PREFIX", file=sys.stderr)
        return 2
    compile_all(Path(args[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
