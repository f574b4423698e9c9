"""Knowledge base pages: operators search and read, admins write (web/articles.py keeps the articles)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from .articles import Articles
from .i18n import translate as _
from .link import viewer
from .security import requires

blueprint = Blueprint("knowledge", __name__, url_prefix="/kb")


def articles() -> Articles:
    return Articles(current_app.extensions["web_store"])


def search(text: str) -> tuple[list[dict], str | None]:
    """Matches for the search box (the console's too), or an error to show instead of them."""
    if not text.strip():
        return [], None
    try:
        return articles().search(text), None
    except ValueError as exc:
        return [], str(exc)


@blueprint.get("/")
@requires("operator")
def index():
    q = request.args.get("kb", "")[:200]
    found, error = search(q)
    return render_template("kb.html", q=q, found=found, error=error,
                           every=articles().all() if not q.strip() else [])


@blueprint.get("/<int:article_id>")
@requires("operator")
def article(article_id: int):
    found = articles().get(article_id)
    if found is None:
        abort(404, f"no article {article_id}")
    return render_template("kb_article.html", article=found)


def _form(article: dict | None, status: int = 200, error: str | None = None):
    return render_template("kb_edit.html", article=article, error=error), status


@blueprint.route("/new", methods=["GET", "POST"])
@requires("admin")
def new():
    if request.method == "GET":
        return _form(None)
    form = request.form
    try:
        article_id = articles().add(form.get("title", ""), form.get("body", ""), form.get("tags", ""), viewer())
    except ValueError as exc:
        return _form(dict(form), 400, str(exc))
    flash(_("Article saved."), "info")
    return redirect(url_for("knowledge.article", article_id=article_id))


@blueprint.route("/<int:article_id>/edit", methods=["GET", "POST"])
@requires("admin")
def edit(article_id: int):
    found = articles().get(article_id)
    if found is None:
        abort(404, f"no article {article_id}")
    if request.method == "GET":
        return _form(found)
    form = request.form
    try:
        articles().update(article_id, form.get("title", ""), form.get("body", ""), form.get("tags", ""), viewer())
    except ValueError as exc:
        return _form(dict(form, id=article_id), 400, str(exc))
    flash(_("Article saved."), "info")
    return redirect(url_for("knowledge.article", article_id=article_id))


@blueprint.post("/<int:article_id>/delete")
@requires("admin")
def delete(article_id: int):
    try:
        articles().delete(article_id)
    except LookupError as exc:
        abort(404, str(exc))
    flash(_("Article deleted."), "info")
    return redirect(url_for("knowledge.index"))
