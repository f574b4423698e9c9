"""Records made before the wall clock was set are moved to the true time once it is.

A Pi boots with no real-time clock: until NTP sets the time the daemon stamps records from the
monotonic clock plus one fixed offset (appliance.core.clock.BoxClock), so every stamp a run makes
meanwhile is off by the same amount. Each such run of the daemon is noted in a small file (the rowids
above which its rows are, the lowest stamp it could make, its offset), so a restart before the time is
set loses nothing: once the time is set, in this run or a later one of the same boot (the monotonic
clock counts from boot), every noted run's rows whose stamps fall in its span move by its amount.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from appliance.files import atomic_write

if TYPE_CHECKING:
    from .lite import Database

log = logging.getLogger(__name__)

TICK = 1e-6  # s: a span's end short of the next run's first stamp, so no row of that run moves twice
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")  # a new one every boot: monotonic times of another mean nothing

# Every wall-clock stamp the daemon writes, by table.
STAMPS: dict[str, tuple[str, ...]] = {
    "calls": ("started_at", "answered_at", "ended_at", "queued_at", "connected_at", "last_alive"),
    "call_events": ("at",),
    "voicemails": ("at", "listened_at"),
    "recordings": ("at",),
    "callbacks": ("requested_at", "done_at", "updated_at"),
    "surveys": ("at",),
    "sms": ("at",),
    "notes": ("at",),
    "tickets": ("created_at", "updated_at", "closed_at"),
    "contacts": ("updated_at",),
    "webhook_outbox": ("created_at", "next_attempt_at", "delivered_at", "failed_at"),
}


def watermarks(db: Database) -> dict[str, int]:
    """The highest rowid of each stamped table: rows above it are this run's."""
    return {table: db.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}").fetchone()[0] for table in STAMPS}


def restamp(db: Database, since: dict[str, int], until: dict[str, int] | None,
            span: tuple[float, float], delta: float) -> int:
    """Add `delta` seconds to the stamps in `span` of rows written after `since` (up to `until`); rows moved."""
    low, high = span
    moved = 0
    with db.atomic():  # all or nothing: a half-moved call would have its end before its start
        for table, columns in STAMPS.items():
            rows = "rowid > ?" + (" AND rowid <= ?" if until else "")
            bounds = [since.get(table, 0), *([until.get(table, 0)] if until else [])]
            where = f"{rows} AND ({' OR '.join(f'{c} BETWEEN ? AND ?' for c in columns)})"
            moved += db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}",
                                [*bounds, *[low, high] * len(columns)]).fetchone()[0]
            for column in columns:
                db.execute(f"UPDATE {table} SET {column} = {column} + ? WHERE {rows} AND {column} BETWEEN ? AND ?",
                           [delta, *bounds, low, high])
    return moved


class ProvisionalRuns:
    """The runs of this boot that stamped records before the time was set, in a file beside calls.db."""

    def __init__(self, path: Path, boot_id: str | None = None) -> None:
        self.path = path
        self.boot_id = boot_id if boot_id is not None else _boot_id()

    def runs(self) -> list[dict]:
        try:
            noted = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("%s cannot be read (%s): records of earlier runs keep their provisional stamps", self.path, exc)
            return []
        if not isinstance(noted, dict) or noted.get("boot") != self.boot_id or not isinstance(noted.get("runs"), list):
            log.warning("records stamped before the clock was set in an earlier boot keep their provisional stamps")
            return []
        return [run for run in noted["runs"] if _well_formed(run)]

    def begin(self, db: Database, low: float, offset: float) -> None:
        """This run starts before the time is set: note where its rows and stamps will be."""
        runs = [*self.runs(), {"since": watermarks(db), "low": low, "offset": offset}]
        try:
            atomic_write(self.path, json.dumps({"boot": self.boot_id, "runs": runs}), mode=0o644)
        except OSError as exc:  # a full disk: this run's records are still moved if the time is set before a restart
            log.warning("%s cannot be written: %s", self.path, exc)

    def settle(self, db: Database, offset: float, now: float) -> int:
        """The time is known (wall minus monotonic = `offset`, monotonic `now`): move every noted run's rows.

        A run's rows are those it wrote (rowids up to the next run's) and those it left in the full-disk journal
        (calls.journal) that a later run wrote once space returned: those carry the run's stamps under a later
        run's rowids, so they are found by their stamps, below the next run's first one. All runs move in one
        transaction: a disk that refuses part of it moves nothing, and the retry moves each row once."""
        runs = self.runs()
        moved = 0
        with db.atomic():
            for i, run in enumerate(runs):
                delta = offset - run["offset"]
                if i + 1 == len(runs):
                    moved += restamp(db, run["since"], None, (run["low"], now + run["offset"]), delta)
                    continue
                later = runs[i + 1]
                moved += restamp(db, run["since"], later["since"], (run["low"], now + run["offset"]), delta)
                # this run's clock never reached the next run's first stamp (counted in this run's offset)
                ended = later["low"] + run["offset"] - later["offset"]
                moved += restamp(db, later["since"], None, (run["low"], ended - TICK), delta)
        self.path.unlink(missing_ok=True)
        return moved


def _well_formed(run: object) -> bool:
    """A noted run as `begin` writes it; anything else (a hand-edited file) is skipped, not a failed start."""
    return (isinstance(run, dict) and isinstance(run.get("since"), dict)
            and all(isinstance(v, int) for v in run["since"].values())
            and all(isinstance(run.get(k), int | float) for k in ("low", "offset")))


def _boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""
