"""Compile the box's Python as its units run it, once at install: `python -m appliance.ops.bytecode PREFIX`.

systemd/hotline.service and hotline-web.service run the daemon and the web app with PYTHONOPTIMIZE=2 (no
docstrings or asserts held: ~1 MB less of a Pi Zero's memory for the daemon, ~1.8 MB for the web app; nothing
in the box reads either) and PYTHONPYCACHEPREFIX=/opt/hotline/pycache. Debian ships
the standard library compiled at the plain level only, pip compiles the venv the same way, and the hotline
user may write neither (ProtectSystem=strict): without this every start would compile each module it loads
from source. So every module either may load, the standard library's and the venv's, is compiled here at
level 2 into PREFIX, where that interpreter then finds it. Run by scripts/install.sh (and bench/boxenv.py) with
the venv's own interpreter; files that do not compile (test data in some standard libraries) are skipped.
The same step makes the empty call and audit logs a first start copies (records/store/blank_logs.py),
records the code @dataclass generates for the daemon's classes (appliance/dataclass_code.py), and compiles the
web's templates (web/template_cache.py: PREFIX/web-templates, so that not even a first start compiles one), each
in a fresh interpreter that runs as the unit does.
"""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from ..records.store import blank_logs


def compile_into(prefix: Path) -> None:
    sys.pycache_prefix = str(prefix)  # where cache_from_source (compileall's target) puts every file
    paths = sysconfig.get_paths()
    for top in sorted({paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}):
        compileall.compile_dir(top, quiet=2, optimize=2, workers=0)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m appliance.ops.bytecode PREFIX", file=sys.stderr)
        return 2
    compile_into(Path(args[0]))
    blank_logs.make(Path(args[0]))
    prefix = str(Path(args[0]).resolve())
    # the code @dataclass generates (appliance/dataclass_code.py) and the web's templates compiled by the app's own
    # Jinja environment (web/template_cache.py), each in an interpreter run as the units run: from /, so that the
    # venv's copy is imported and not a source tree the installer runs in
    for module in ("appliance.dataclass_code", "web.template_cache"):
        subprocess.run([sys.executable, "-OO", "-m", module, prefix], cwd="/", check=True,
                       env={**os.environ, "PYTHONPYCACHEPREFIX": prefix}, stdout=subprocess.DEVNULL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
