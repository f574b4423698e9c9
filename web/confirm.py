"""A real confirmation step for what cannot be taken back in one click (revert, delete, demotion).

The first POST shows a page that says what will happen, carrying the same fields back with
`confirmed=yes`; only that second POST acts. The server checks it, so no script or stray click skips it.
"""

from __future__ import annotations

from flask import render_template, request


def confirmed() -> bool:
    return request.form.get("confirmed") == "yes"


def ask_first(question: str, cancel: str, detail: str = "", button: str = ""):
    """The page asking `question` (with `detail` below it), whose Yes posts this form again, confirmed."""
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "confirmed")]
    return render_template("confirm.html", question=question, detail=detail, fields=fields, action=request.path,
                           cancel=cancel, button=button)
