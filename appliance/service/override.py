"""The web page's "force open / force closed", kept in data_dir/override.json so a restart does not drop it.

The core's Schedule holds the mode and its end; who set it and when is for people, so it lives here.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..files import atomic_write, fsync_dir

log = logging.getLogger(__name__)

FILE = "override.json"


def load(data_dir: Path) -> dict[str, Any] | None:
    """The override last set, or None; a damaged file is reported and ignored (the hours apply)."""
    try:
        state = json.loads((data_dir / FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.error("the schedule override in %s cannot be read, the hours apply: %s", data_dir / FILE, exc)
        return None
    if not isinstance(state, dict) or state.get("mode") not in ("open", "closed"):
        log.error("the schedule override in %s is not one, the hours apply", data_dir / FILE)
        return None
    return state


def save(data_dir: Path, state: dict[str, Any] | None) -> None:
    """Keep (or, with None, drop) the override; written atomically, so a power cut leaves the old or the new."""
    path = data_dir / FILE
    if state is None:
        if path.exists():
            path.unlink()
            fsync_dir(data_dir)
        return
    atomic_write(path, json.dumps(state), mode=0o640)
