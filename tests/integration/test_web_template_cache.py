"""The pages' templates are compiled once and kept (web/template_cache.py): a restarted web process loads them
from the state directory instead of compiling them again, and a cache that cannot be kept costs no page. The
install compiles them all into its bytecode prefix (what a first start then loads: tests/system/test_web_loads.py);
an entry there that cannot be used costs a compile, never the page."""

from __future__ import annotations

import sys
from pathlib import Path

from web import create_app
from web.template_cache import compile_all

REPO = Path(__file__).resolve().parents[2]


def _cached(data: Path) -> dict[str, int]:
    return {entry.name: entry.stat().st_mtime_ns for entry in (data / "web-templates").iterdir()}


def test_a_restart_loads_the_pages_compiled_at_the_first_start(tmp_path: Path) -> None:
    first = create_app(tmp_path).test_client()
    assert first.get("/setup").status_code == 200  # the first page a new box shows
    kept = _cached(tmp_path)
    assert kept, "no template was kept"
    assert (tmp_path / "web-templates").stat().st_mode & 0o077 == 0  # run as code: the box's own user's only
    restarted = create_app(tmp_path).test_client()
    page = restarted.get("/setup")
    assert page.status_code == 200 and 'name="setup_code"' in page.text
    assert _cached(tmp_path) == kept  # loaded, not compiled and written again


def test_pages_are_served_when_their_templates_cannot_be_kept(tmp_path: Path, caplog) -> None:
    (tmp_path / "web-templates").write_text("a file where the cache would be (a full or damaged disk)")
    client = create_app(tmp_path).test_client()
    for _ in range(2):
        page = client.get("/setup")
        assert page.status_code == 200 and 'name="setup_code"' in page.text
    assert "not cached" in caplog.text


def test_the_install_compiles_every_template_and_a_damaged_entry_costs_a_compile_not_the_page(tmp_path: Path,
                                                                                              monkeypatch) -> None:
    prefix = tmp_path / "pycache"
    (prefix / "web-templates").mkdir(parents=True)
    (prefix / "web-templates" / "__jinja2_of-an-older-install.cache").write_bytes(b"old")
    assert compile_all(prefix) == len(list(REPO.joinpath("web/templates").rglob("*.html")))
    made = sorted((prefix / "web-templates").iterdir())
    assert "__jinja2_of-an-older-install.cache" not in {entry.name for entry in made}  # replaced, not added to
    assert {entry.stat().st_mode & 0o777 for entry in made} == {0o644}  # read by the web unit's user, not root
    for entry in made:
        entry.write_bytes(b"damaged")
    monkeypatch.setattr(sys, "pycache_prefix", str(prefix))  # as PYTHONPYCACHEPREFIX in the web unit sets it
    page = create_app(tmp_path / "data").test_client().get("/setup")
    assert page.status_code == 200 and 'name="setup_code"' in page.text
    assert _cached(tmp_path / "data")  # compiled, and kept in the data directory
