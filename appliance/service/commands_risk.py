"""Control command for a caller at risk (docs/records.md "Risk and safety plan"): `caller.risk` sets or clears the
flag, its reason and the caller's safety plan, by one of their calls (the number never leaves the daemon, so an
operator can flag a caller the page only shows as a pseudonym)."""

from __future__ import annotations

from typing import Any

from .commands_host import CommandHost, running

MAX_TEXT = 4000


def register(daemon: CommandHost) -> None:
    daemon.commands["caller.risk"] = lambda a: _risk(daemon, a)


def _risk(daemon: CommandHost, args: dict[str, Any]) -> dict[str, Any]:
    call, author, risk = args.get("call"), args.get("author"), args.get("risk")
    if not isinstance(call, str) or not call or not isinstance(author, str) or not author.strip():
        raise ValueError("call and author are needed")
    if not isinstance(risk, bool):
        raise ValueError("risk must be true or false")
    texts = {}
    for key in ("reason", "safety_plan"):
        value = args.get(key) or None
        if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
            raise ValueError(f"{key} must be text of at most {MAX_TEXT} characters")
        texts[key] = value
    store = running(daemon)[1]
    row = store.db.execute("SELECT caller_key FROM calls WHERE id = ?", [call]).fetchone()
    if row is None or row[0] is None:
        raise LookupError(f"no call {call!r} from a caller who can be known again (a withheld number)")
    with store.db.atomic():
        store.db["caller_risk"].upsert({"caller_key": row[0], "risk": int(risk), **texts,
                                        "updated_at": daemon.clock.wall(), "updated_by": author}, pk="caller_key")
    return {"caller_key": row[0], "risk": risk}
