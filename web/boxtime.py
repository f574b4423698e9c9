"""Times on the pages are the box's own ([schedule] timezone), not the server's (a Pi often runs in UTC)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g

from .link import DaemonError, ask


def zone() -> ZoneInfo | None:
    """The box's zone, read once per request; None (the server's zone) when it cannot be known."""
    if "box_zone" not in g:
        g.box_zone = None
        try:
            schedule = ask("config.get")["document"].get("schedule", {})
            g.box_zone = ZoneInfo(str(schedule.get("timezone", "UTC")))
        except (DaemonError, ZoneInfoNotFoundError, ValueError, AttributeError):
            pass  # the daemon is away or the zone unknown: the server's own zone is the best left
    return g.box_zone


def now() -> datetime:
    """The box's wall time now, zone-aware (the server's own zone when the box's cannot be known)."""
    moment = datetime.now(zone())
    return moment if moment.tzinfo else moment.astimezone()


def midnight(day: date) -> float:
    """The epoch at which `day` begins on the box's clock."""
    return datetime(day.year, day.month, day.day, tzinfo=zone()).timestamp()


def shown(epoch: float | None, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An epoch as the box's local time, for a page."""
    return datetime.fromtimestamp(epoch, zone()).strftime(pattern) if epoch else ""


def parse_local(text: str) -> float:
    """A `datetime-local` field ("2026-11-30T18:00") read in the box's zone; ValueError when it is not one."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=zone()).timestamp() if moment.tzinfo is None and zone() else moment.timestamp()
