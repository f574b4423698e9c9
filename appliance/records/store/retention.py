"""Keeping data only as long as configured, and a caller's right to see or erase everything about them.

All three run in the daemon (the only writer of call data); each deletion is one
transaction, and audio files are removed after it commits (a crash in between
leaves a stray file, never a row pointing at nothing that was meant to exist).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..privacy import RETENTION_KINDS
from .access import AccessStore
from .rollups import ROLLUP_STATE

if TYPE_CHECKING:
    from .calls import CallStore
    from .queries import CallLog

log = logging.getLogger(__name__)

KINDS = RETENTION_KINDS
DAY = 86400.0
DELIVERED_WEBHOOKS_KEPT = 7 * DAY
# Rows that hang off a call, deleted with it (tickets only once closed; open ones are live work).
_CALL_CHILDREN = ("call_events", "notes", "surveys", "callbacks")


def enforce_retention(store: CallStore, now: float, days: Mapping[str, float | None], *,
                      audit: AccessStore | None = None) -> dict[str, int]:
    """Delete what is older than its kind's retention (days; None keeps forever). Call once a day."""
    unknown = set(days) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown retention kind(s) {', '.join(sorted(unknown))}; choose from {', '.join(KINDS)}")
    for kind, value in days.items():
        if value is not None and value <= 0:
            raise ValueError(f"retention for {kind} must be a positive number of days, not {value!r}")
    db, removed, files = store.db, {}, []
    with db.atomic():
        if days.get("recordings") is not None:
            removed["recordings"], paths = _delete_with_files(db, "recordings", "at < ?",
                                                               [now - days["recordings"] * DAY])
            files += paths
        if days.get("voicemail") is not None:
            removed["voicemail"], paths = _delete_with_files(db, "voicemails", "at < ?",
                                                              [now - days["voicemail"] * DAY])
            files += paths
        if days.get("sms") is not None:
            removed["sms"] = db.execute("DELETE FROM sms WHERE at < ?", [now - days["sms"] * DAY]).rowcount
            # A conversation quiet for as long goes with its texts, its sealed number too (docs/texts.md).
            quiet = db.execute("DELETE FROM conversations WHERE updated_at < ?", [now - days["sms"] * DAY]).rowcount
            if quiet:
                removed["conversations"] = quiet
        if days.get("alerts") is not None:  # the sent log; an alert still to send is never old enough
            removed["alerts"] = db.execute("DELETE FROM alerts WHERE created_at < ? AND state IN ('sent', 'failed', "
                                           "'merged')", [now - days["alerts"] * DAY]).rowcount
        if days.get("calls") is not None:
            # Open calls (ended_at NULL) are never old enough: close_interrupted deals with those.
            # The statistics rollups keep these calls as anonymous counts, so last year's figures stay.
            db.execute(f"UPDATE {ROLLUP_STATE} SET keep_on_delete = 1")
            removed["calls"], paths = _delete_calls(db, "started_at < ? AND ended_at IS NOT NULL",
                                                    [now - days["calls"] * DAY])
            db.execute(f"UPDATE {ROLLUP_STATE} SET keep_on_delete = 0")
            # A risk flag outlives no call of its caller: with the last one gone, it goes too.
            db.execute("DELETE FROM caller_risk WHERE caller_key NOT IN (SELECT caller_key FROM calls WHERE "
                       "caller_key IS NOT NULL)")
            files += paths
        db.execute("DELETE FROM webhook_outbox WHERE delivered_at < ?", [now - DELIVERED_WEBHOOKS_KEPT])
        if audit is not None and any(removed.values()):
            audit.audit("system", "retention.delete", None, at=now,
                        detail=", ".join(f"{k}={v}" for k, v in removed.items()))
    _unlink(store.data_dir, files)
    return removed


def erase_caller(store: CallStore, caller: str, *, actor: str, now: float,
                 audit: AccessStore | None = None) -> dict[str, int]:
    """Delete everything about one caller (number, pseudonym or caller key), files included.

    Their calls leave the statistics too (the rollups are taken down with them)."""
    # Loaded by an erasure, an admin's rare request: the daemon's daily retention needs neither.
    from . import erasure
    from .queries import CallLog

    key = CallLog(store.path, privacy=store.privacy).caller_key(caller)
    if key is None:
        raise LookupError(f"no calls from {caller!r}")
    db, removed = store.db, {}
    with db.atomic():
        forms = erasure.forms_of(db, key, caller)  # read before the rows that hold them go
        call_ids = [row[0] for row in db.execute("SELECT id FROM calls WHERE caller_key = ?", [key])]
        removed["calls"], files = _delete_calls(db, "caller_key = ?", [key])
        for table in ("voicemails", "callbacks", "notes", "tickets", "sms", "contacts", "conversations",
                      "caller_risk"):
            if table == "voicemails":
                count, paths = _delete_with_files(db, "voicemails", "caller_key = ?", [key])
                files += paths
            else:
                count = db.execute(f"DELETE FROM {table} WHERE caller_key = ?", [key]).rowcount
            removed[table] = removed.get(table, 0) + count
        # Webhooks about this caller: not yet sent, they are not sent at all; sent, the delivery log forgets them.
        removed["webhooks"] = erasure.erase_webhooks(db, key, call_ids)
        removed["alerts"] = erasure.erase_alerts(db, key, forms)
    erasure.truncate_wal(db.conn)
    if audit is not None:
        removed["audit lines"] = erasure.scrub_audit(audit, key, erasure.numbers_in(forms))
        # who erased, when and how much; not whom (the key would let its holder test a number against it)
        audit.audit(actor, "caller.erase", erasure.ERASED, at=now,
                    detail=", ".join(f"{k}={v}" for k, v in removed.items()))
        erasure.truncate_wal(audit.db.conn)
    _unlink(store.data_dir, files)
    return removed


def export_caller(log_: CallLog, caller: str, *, actor: str, now: float,
                  audit: AccessStore | None = None) -> dict:
    """Everything kept about one caller, for a subject access request."""
    key = log_.caller_key(caller)
    if key is None:
        raise LookupError(f"no calls from {caller!r}")
    calls = [log_.call(row["id"], role="admin") for row in log_.search(caller=key, limit=1_000_000, role="admin")]
    for call in calls:
        call.pop("history", None)
    export = {"caller_key": key, "calls": calls}
    for table in ("contacts", "sms", "tickets", "voicemails", "callbacks", "caller_risk"):
        export[table] = log_._query(f"SELECT * FROM {table} WHERE caller_key = ?", [key])
    if audit is not None:
        audit.audit(actor, "caller.export", key, at=now, detail=f"{len(calls)} calls")
    return export


def _delete_calls(db, where: str, params: list) -> tuple[int, list[str]]:
    ids = f"SELECT id FROM calls WHERE {where}"
    files = []
    for table in ("recordings", "voicemails"):
        _, paths = _delete_with_files(db, table, f"call_id IN ({ids})", params)
        files += paths
    for table in _CALL_CHILDREN:
        db.execute(f"DELETE FROM {table} WHERE call_id IN ({ids})", params)
    db.execute(f"DELETE FROM tickets WHERE status = 'closed' AND call_id IN ({ids})", params)
    db.execute(f"UPDATE tickets SET call_id = NULL WHERE call_id IN ({ids})", params)
    return db.execute(f"DELETE FROM calls WHERE {where}", params).rowcount, files


def _delete_with_files(db, table: str, where: str, params: list) -> tuple[int, list[str]]:
    paths = [row[0] for row in db.execute(f"SELECT path FROM {table} WHERE {where}", params) if row[0]]
    return db.execute(f"DELETE FROM {table} WHERE {where}", params).rowcount, paths


def _unlink(data_dir: Path, paths: list[str]) -> None:
    root = data_dir.resolve()
    for name in paths:
        path = (root / name).resolve()
        if not path.is_relative_to(root):  # only ever delete the box's own audio
            log.warning("not deleting %s: outside the data directory", path)
            continue
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not delete %s: %s", path, exc)
