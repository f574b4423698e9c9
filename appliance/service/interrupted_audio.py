"""Audio a crash cut short: the recorder's hidden scratch files, turned back into messages or removed.

The recorder writes a caller's voice to `.<call>.flac.<random>.raw` next to the message it is making and
compresses it once the take ends. A crash or a power cut in between leaves that raw file: seconds of a
caller's voice that no list shows and no retention or erasure finds. At start each one becomes a message
flagged "cut short" (covered by retention and erasure like any other), or is removed when it holds less
than a second or when its call is no longer in the log. One that cannot be compressed now (a full disk)
stays for the next start.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

from ..audio.recorder import CAPTURE_RATE
from ..audio.takes import encode_flac
from ..files import scratch_beside
from ..records.store.calls import CallStore

log = logging.getLogger(__name__)

MIN_SECONDS = 1.0  # less than this is a breath or a click, not a message
FOLDERS = {"voicemail": "voicemail", "recordings": "recording"}  # folder under the data dir -> kind of audio
_SCRATCH = re.compile(r"^\.(?P<name>.+\.flac)\.[^.]+\.(?P<suffix>raw|part)$")


def salvage_audio(store: CallStore, data_dir: Path, *,
                  encode: Callable[[str, str, int], None] = encode_flac) -> dict[str, int]:
    """Deal with every scratch file a crash left; counts of what was kept, removed and left for next time."""
    counts = {"kept": 0, "removed": 0, "left": 0}
    for folder, kind in FOLDERS.items():
        directory = data_dir / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            found = _SCRATCH.match(path.name)
            if found is None:
                continue
            if found["suffix"] == "part":  # a compression the crash stopped: its raw file is still there
                path.unlink(missing_ok=True)
                continue
            counts[_salvage(store, kind, path, directory / found["name"], encode)] += 1
    if any(counts.values()):
        log.warning("audio cut short by a crash: %(kept)d kept as cut short, %(removed)d removed, "
                    "%(left)d left for the next start", counts)
    return counts


def _salvage(store: CallStore, kind: str, raw: Path, target: Path,
             encode: Callable[[str, str, int], None]) -> str:
    call_id = target.name.removesuffix(".flac")
    stat = raw.stat()
    seconds = round(stat.st_size // 2 / CAPTURE_RATE, 3)
    outcome = "removed"
    if seconds >= MIN_SECONDS:
        if not _compress(raw, target, encode):
            return "left"  # a full disk, say: the raw file stays for the next start to try again
        try:
            # When the caller last spoke into it: the scratch file's last write, as the box's clock saw it.
            stored = store.audio_salvaged(kind, call_id, str(target), seconds, at=stat.st_mtime)
        except BaseException:
            target.unlink(missing_ok=True)  # the raw file stays for the next start to try again
            raise
        if stored:
            outcome = "kept"
        else:
            target.unlink(missing_ok=True)
    raw.unlink(missing_ok=True)
    log.info("%s of call %s cut short after %.1f s: %s", kind, call_id, seconds, outcome)
    return outcome


def _compress(raw: Path, target: Path, encode: Callable[[str, str, int], None]) -> bool:
    import subprocess  # only where a crash left audio: an idle daemon holds no subprocess module

    part = None
    try:
        fd, part = scratch_beside(target, ".part")
        os.close(fd)
        os.truncate(raw, raw.stat().st_size // 2 * 2)  # a crash can stop a write half-way through a sample
        encode(str(raw), part, CAPTURE_RATE)
        with open(part, "rb") as done:
            os.fsync(done.fileno())  # the rename must not land before the data on the SD card
        os.replace(part, target)
        return True
    except (OSError, subprocess.SubprocessError) as exc:
        log.error("could not compress %s cut short by a crash: %s", raw, exc)
        return False
    finally:
        if part is not None:
            Path(part).unlink(missing_ok=True)
