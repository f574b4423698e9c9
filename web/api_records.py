"""The records API for CRMs and reports: /api/v1, per-client bearer tokens, every access audited.

Register with `app.register_blueprint(api_records.blueprint)`; it reads DATA_DIR
and DATABASE from the app config. See docs/api.md.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context

from appliance.records.csv_export import export_calls
from appliance.records.store.access import AccessStore
from appliance.records.store.queries import CallLog

from .link import audited_query

blueprint = Blueprint("api_records", __name__, url_prefix="/api/v1")

MAX_LIMIT = 500
MAX_OFFSET = 1000  # an offset costs its rows; a cursor (after/before) costs nothing however deep


class BadRequest(ValueError):
    """A query parameter the API cannot use; the message names it."""


def _access() -> AccessStore:
    if "access_store" not in g:
        g.access_store = AccessStore(current_app.config["DATA_DIR"] / "access.db")
    return g.access_store


@blueprint.teardown_request
def _close_access(_exc: BaseException | None) -> None:
    store = g.pop("access_store", None)
    if store is not None:
        store.close()


def _audit(action: str, target: str | None = None, detail: str | None = None) -> None:
    _access().audit(f"api:{g.api_client['client']}", action, target, at=time.time(), detail=detail)


@blueprint.before_request
def _authenticate():
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    client = _access().verify(token)
    if client is None:
        _access().denied(request.remote_addr or "unknown", request.path, "bad token" if token else "no token",
                         at=time.time())
        response = jsonify(error="a valid API token is required (Authorization: Bearer <token>)")
        response.headers["WWW-Authenticate"] = 'Bearer realm="hotline"'
        return response, 401
    g.api_client = client
    return None


@blueprint.errorhandler(BadRequest)
def _bad_request(exc: BadRequest):
    return jsonify(error=str(exc)), 400


def _log() -> CallLog:
    return CallLog(current_app.config["DATABASE"])


def _time(name: str) -> float | None:
    """A time parameter as epoch seconds or ISO 8601 ('2024-05-01', '2024-05-01T10:00:00Z'; naive is UTC)."""
    value = request.args.get(name)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}={value!r} is not epoch seconds or an ISO 8601 date/time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _number(name: str, default: float, low: float, high: float) -> float:
    value = request.args.get(name)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"{name}={value!r} is not a number") from None
    if not low <= number <= high:
        raise BadRequest(f"{name} must be between {low:g} and {high:g}")
    return number


def _filters() -> dict[str, Any]:
    filters = {"since": _time("from"), "until": _time("to")}
    for name in ("outcome", "caller", "q", "call_type", "operator", "line"):
        if request.args.get(name):
            filters[name] = request.args[name]
    return filters


def _query(run):
    try:
        return run()
    except ValueError as exc:  # a filter the store refused (an unsearchable text, an unknown number)
        raise BadRequest(str(exc)) from None


@blueprint.get("/calls")
def calls():
    filters = _filters()
    limit = int(_number("limit", 50, 1, MAX_LIMIT))
    offset = int(_number("offset", 0, 0, 10**9))
    if offset > MAX_OFFSET:
        raise BadRequest(f"offset={offset} is past {MAX_OFFSET}: deeper pages are reached by cursor, "
                         "after=<the next of the page before> (every page gives its next and previous)")
    role = g.api_client["role"]
    page = _query(lambda: _log().page(limit=limit, offset=offset, after=request.args.get("after"),
                                      before=request.args.get("before"), role=role, **filters))
    _audit("api.calls.list", None, audited_query(_log()))
    return jsonify(calls=page.calls, limit=limit, offset=offset, next=page.next, previous=page.previous)


@blueprint.get("/calls/<call_id>")
def call(call_id: str):
    record = _log().call(call_id, role=g.api_client["role"])
    _audit("api.calls.view", call_id, None if record else "not found")
    if record is None:
        return jsonify(error=f"no call {call_id}"), 404
    return jsonify(record)


@blueprint.get("/stats")
def stats():
    until = _time("to") or time.time()
    since = _time("from") or until - 7 * 86400
    options = {
        "short_abandon": _number("short_abandon", 5, 0, 3600),
        "service_level": _number("service_level", 20, 1, 3600),
        "utc_offset": _number("utc_offset", 0, -14 * 3600, 14 * 3600),
    }
    figures = _query(lambda: _log().stats(since, until, **options))
    _audit("api.stats", None, f"{since:.0f}-{until:.0f}")
    return jsonify(figures)


@blueprint.get("/export.csv")
def export_csv():
    filters = _filters()
    lines = _query(lambda: export_calls(_log(), role=g.api_client["role"], **filters))
    _audit("api.export", None, audited_query(_log()) or "all calls")
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="calls.csv"'})
