"""What a line's network refused, remembered across restarts: a SIM whose network would not hold a caller or join
two calls is not tried again for remote operators after the daemon restarts (core/remote.py notes the refusal in
the queue's `remote_refused`; this keeps it).

The memory is per line and per SIM: `<data>/remote_refused.json` holds, for each line, the reason and the ICCID
of the SIM that gave it. At each line start (LineUp) the line's SIM is compared: the same SIM gets its refusal
back; another SIM (swapped while the box was off, or on a reopen) starts clean. `hotline check --hardware`,
which asks each modem anew, forgets the refusals of the lines whose modem answered it (`forget`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

FILE = "remote_refused.json"


def load(data_dir: Path) -> dict[str, dict]:
    """line -> {"reason", "iccid", "at"}; an unreadable file is as good as none (logged), never a failed start."""
    path = Path(data_dir) / FILE
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s cannot be read (%s): remote operators' refusals start afresh", path, exc)
        return {}
    if not isinstance(stored, dict):
        return {}
    return {line: entry for line, entry in stored.items()
            if isinstance(entry, dict) and isinstance(entry.get("reason"), str)}


def save(data_dir: Path, stored: dict[str, dict]) -> None:
    """Write the whole memory so that a power cut leaves the old file or the new one, never half of either."""
    path = Path(data_dir) / FILE
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as file:
        json.dump(stored, file, indent=1, sort_keys=True)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def forget(data_dir: Path, lines: Iterable[str]) -> list[str]:
    """`hotline check --hardware` asked these lines' modems anew: their refusals are cleared; which were."""
    stored = load(data_dir)
    cleared = [line for line in lines if line in stored]
    if cleared:
        for line in cleared:
            del stored[line]
        save(data_dir, stored)
    return cleared


class RefusalMemory:
    """Keeps `refused` (the core queue's line -> reason) on disk. `iccid(line)` is the SIM the line has now."""

    def __init__(self, data_dir: Path, refused: dict[str, str], iccid: Callable[[str], str | None],
                 wall: Callable[[], float]) -> None:
        self.data_dir = Path(data_dir)
        self.refused = refused
        self._iccid = iccid
        self._wall = wall

    def line_up(self, line: str) -> None:
        """The line started (or came back): the refusal its SIM gave before is in force again; another SIM's
        is forgotten, on disk and in the running core."""
        stored = load(self.data_dir)
        entry = stored.get(line)
        if entry is None:
            return
        sim = self._iccid(line)
        if entry.get("iccid") == sim:
            self.refused[line] = entry["reason"]
            return
        log.info("line %s has another SIM (%s, was %s): its network's refusal is forgotten", line, sim,
                 entry.get("iccid"))
        self.refused.pop(line, None)
        del stored[line]
        self._write(stored)

    def noted(self, line: str, reason: str) -> None:
        """The line's network refused hold or joining calls just now (RemoteFailed with refused)."""
        stored = load(self.data_dir)
        stored[line] = {"reason": reason, "iccid": self._iccid(line), "at": self._wall()}
        self._write(stored)

    def _write(self, stored: dict[str, dict]) -> None:
        try:
            save(self.data_dir, stored)
        except OSError as exc:  # a full disk: the refusal holds until restart, as before
            log.error("remote operators' refusals cannot be kept in %s: %s", self.data_dir / FILE, exc)
