"""What erasing a caller reaches beyond their rows: the texts the box wrote *about* them elsewhere.

The alert log (SMS and e-mail bodies kept for the Alerts page, digests that carried them), the webhook
deliveries kept after sending, and the audit log's record of searches typed with their number. Each is
found by the caller's key where the row carries it, and by the forms their number was written in where it
does not (rows older than the key column, free text). After the erasing transaction, the write-ahead logs
are truncated so the pages that held the number are not left in a file (docs/privacy.md).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..privacy import normalise

if TYPE_CHECKING:
    from .access import AccessStore
    from .lite import Database

ERASED = "[erased]"
# Alert kinds whose text tells of one caller (docs/alerts.md).
CALLER_ALERTS = ("voicemail", "abandoned", "callback_due", "transcript")
# Between two digits of a typed number: separators, and the same percent- or plus-encoded in a query string.
_BETWEEN = r"(?:[\s()\-.+/]|%2[0-9bBfF]|%28|%29){0,3}"
_NATIONAL = 9  # trailing digits that name a number whatever its country prefix was typed as


def forms_of(db: Database, key: str, typed: str) -> set[str]:
    """Every way this caller's number is written in their own rows (as the privacy mode keeps it), and as typed."""
    forms = {typed} if any(c.isdigit() for c in typed) else set()
    for table, column in (("calls", "caller"), ("sms", "number"), ("callbacks", "number"),
                          ("conversations", "number"), ("contacts", "number")):
        forms.update(row[0] for row in db.execute(f"SELECT DISTINCT {column} FROM {table} WHERE caller_key = ? "
                                                   f"AND {column} IS NOT NULL AND {column} != ''", [key]))
    return forms


def numbers_in(forms: Iterable[str]) -> set[str]:
    """The numbers among `forms` (not masks or pseudonyms), as digits."""
    found = set()
    for form in forms:
        digits = normalise(form).lstrip("+") if "*" not in form and not form.startswith("~") else ""
        if digits.isdigit() and len(digits) >= 6:
            found.add(digits)
    return found


def erase_alerts(db: Database, key: str, forms: set[str]) -> int:
    """The caller's alerts go; a digest that carried one keeps the others' text without theirs.

    Rows made before alerts carried the caller's key are found by the number as the mode wrote it; in masked
    mode that form (country and last four digits) may be shared, and such an old row of another caller goes too:
    an alert log line lost is better than a caller's left."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'").fetchone():
        return 0
    kinds = ", ".join("?" * len(CALLER_ALERTS))
    rows = db.execute(f"SELECT id, body, digest, caller_key FROM alerts WHERE caller_key = ? OR (caller_key IS NULL "
                      f"AND event IN ({kinds}))", [key, *CALLER_ALERTS]).fetchall()
    theirs = [(i, body, digest) for i, body, digest, owner in rows
              if owner == key or any(form in (body or "") for form in forms)]
    for _, body, digest in theirs:
        if digest is not None:
            carried = db.execute("SELECT body FROM alerts WHERE id = ?", [digest]).fetchone()
            if carried is not None:
                db.execute("UPDATE alerts SET body = ? WHERE id = ?",
                           [carried[0].replace("\n" + body, "\n" + ERASED), digest])
    db.execute(f"DELETE FROM alerts WHERE id IN ({', '.join('?' * len(theirs))})", [t[0] for t in theirs])
    return len(theirs)


def erase_webhooks(db: Database, key: str, call_ids: list[str]) -> int:
    """Deliveries about the caller, sent or not: a sent one is kept a week as the delivery log."""
    removed = db.execute("DELETE FROM webhook_outbox WHERE body LIKE ?", [f"%{key}%"]).rowcount
    for call_id in call_ids:  # call.answered names the call, not the caller
        removed += db.execute("DELETE FROM webhook_outbox WHERE body LIKE ?", [f"%{call_id}%"]).rowcount
    return removed


def scrub_audit(audit: AccessStore, key: str, numbers: set[str]) -> int:
    """Audit lines keep who did what and when; the caller's key (an export) and the number typed in a search
    (a query string) become [erased], so the log cannot tell that this person ever called."""
    # the number however it was separated or URL-encoded, and with whatever country prefix
    pattern = re.compile("|".join([re.escape(key), *(_BETWEEN.join(d[-_NATIONAL:]) for d in sorted(numbers))]))
    # only lines holding the key or a number's last two digits can name the caller: the rest are not read
    needles = [key, *(digits[-2:] for digits in sorted(numbers))]
    where = " OR ".join("(COALESCE(target, '') || ' ' || COALESCE(detail, '')) LIKE ?" for _ in needles)
    db, changed = audit.db, 0
    db.execute("PRAGMA secure_delete=ON")  # the old text is overwritten in the page, not left in its free space
    with db.atomic():
        for row_id, target, detail in db.execute(f"SELECT id, target, detail FROM audit WHERE {where}",
                                                 [f"%{needle}%" for needle in needles]).fetchall():
            new_target = pattern.sub(ERASED, target) if target else target
            new_detail = pattern.sub(ERASED, detail) if detail else detail
            if (new_target, new_detail) != (target, detail):
                db.execute("UPDATE audit SET target = ?, detail = ? WHERE id = ?", [new_target, new_detail, row_id])
                changed += 1
    return changed


def truncate_wal(conn: sqlite3.Connection) -> None:
    """Write the log back and empty its file: its old frames still hold the pages as they were before."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
