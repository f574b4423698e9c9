"""Records: the call log with filters, one call's timeline and notes, statistics and CSV export.

Every query is the store's own (appliance.records.store.queries.CallLog), with numbers shown as the
viewer's role may see.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, stream_with_context

from appliance.records.csv_export import export_calls
from appliance.records.store.calls import CALL_TYPES, TICKET_STATES
from appliance.records.store.texts import counts as text_counts

from . import boxtime
from .access import audit
from .charts import CHART_WORDS, statistics_charts
from .i18n import translate as _
from .link import audited_query, call_log, viewer_role
from .pages import CATEGORIES
from .security import requires

blueprint = Blueprint("records", __name__)

OUTCOMES = ("completed", "abandoned", "missed", "left in menu", "no answer", "voicemail", "closed", "transferred",
            "ended by flow", "blocked", "failed", "interrupted", "rejected_busy")
PAGE = 50
MAX_PAGE = 10  # page numbers an old link may give (an offset of up to 450 calls)


def _query() -> dict[str, str]:
    """The filters as given, to carry into the export link and the next page."""
    return {key: value for key, value in request.args.items() if key not in ("page", "after", "before") and value}


def _day(name: str) -> date | None:
    raw = request.args.get(name, "")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        abort(400, f"{name}: {raw!r} is not a date like 2025-01-31")


def _filters() -> dict[str, Any]:
    """CallLog filters from the query string: from/to days (the box's), outcome, caller, notes text, type, operator."""
    first, last = _day("from"), _day("to")
    filters: dict[str, Any] = {"since": boxtime.midnight(first) if first else None,
                               "until": boxtime.midnight(last + timedelta(days=1)) if last else None}
    for name in ("outcome", "caller", "q", "call_type", "operator"):
        value = request.args.get(name, "").strip()[:64]
        if value:
            filters[name] = value
    return filters


def _run(query):
    try:
        return query()
    except (ValueError, LookupError) as exc:  # an unsearchable text or a number the box cannot key
        abort(400, str(exc))


@blueprint.get("/calls", endpoint="call_log")
@requires("supervisor")
def call_log_page():
    # Pages follow each other by cursor (the last call's place: `after`, the first's: `before`), so the
    # hundredth page costs what the first does; a page number (an old link) is an offset, cheap near the top.
    number = request.args.get("page", 1, type=int) or 1
    if not 1 <= number <= MAX_PAGE:
        abort(400, _("page={number}: page numbers go from 1 to {most}; further on, follow the \"Older\" link "
                     "from the last of them", number=number, most=MAX_PAGE))
    filters = _filters()
    page = _run(lambda: call_log().page(limit=PAGE, offset=(number - 1) * PAGE, after=request.args.get("after"),
                                        before=request.args.get("before"), role=viewer_role(), **filters))
    past_end = not page.calls and (number > 1 or "after" in request.args or "before" in request.args)
    return render_template("calls.html", calls=page.calls, outcomes=OUTCOMES, call_types=CALL_TYPES,
                           older=page.next, newer=page.previous, past_end=past_end, query=_query())


@blueprint.get("/calls/<call_id>")
@requires("supervisor")
def call_detail(call_id: str):
    record = call_log().call(call_id, role=viewer_role())
    if record is None:
        abort(404, f"no call {call_id!r}")
    return render_template("call.html", call=record, call_types=CALL_TYPES, categories=CATEGORIES,
                           ticket_states=sorted(TICKET_STATES))


@blueprint.get("/calls.csv")
@requires("supervisor")
def export_csv():
    filters = _filters()
    lines = _run(lambda: export_calls(call_log(), role=viewer_role(), **filters))
    audit("export.csv", "calls", audited_query(call_log()) or "all calls")
    name = f"calls-{datetime.now():%Y%m%d-%H%M}.csv"
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@blueprint.get("/stats")
@requires("supervisor")
def stats():
    filters = _filters()
    until = filters["until"] or time.time()
    since = filters["since"] or until - 7 * 86400
    offset = boxtime.now().utcoffset() or timedelta()
    figures = _run(lambda: call_log().stats(since, until, utc_offset=offset.total_seconds()))
    charts = statistics_charts(figures, {word: _(word) for word in CHART_WORDS})
    texts = text_counts(current_app.config["DATABASE"], since, until)  # the text line's (docs/texts.md)
    return render_template("stats.html", figures=figures, query=_query(), since=since, until=until, charts=charts,
                           texts=texts)


TODAY_SECONDS = 1.0  # figures this fresh are shown again, as the daemon's status is (link.py): 20 dashboards
_today_lock = threading.Lock()
_today: dict[str, tuple[float, dict[str, Any]]] = {}  # calls.db -> (monotonic time counted, figures)


def today() -> dict[str, Any]:
    """The dashboard's figures since midnight on the box's clock (a Pi's own zone is often UTC).

    Only the summary is counted (not the whole statistics page's figures), at most once a second."""
    log = call_log()
    with _today_lock:
        kept = _today.get(str(log.path))
    if kept is not None and time.monotonic() - kept[0] < TODAY_SECONDS:
        return dict(kept[1])
    counted, now = time.monotonic(), boxtime.now()
    summary = log.stats(boxtime.midnight(now.date()), now.timestamp() + 1, only=("summary",))["summary"]
    figures = {"total": summary["calls"], "answered": summary["answered"], "abandoned": summary["abandoned"],
               "average_wait": summary["asa"] or 0}
    with _today_lock:
        _today[str(log.path)] = (counted, figures)
    return dict(figures)
