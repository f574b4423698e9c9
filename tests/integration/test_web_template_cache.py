"""The pages' templates are compiled once and kept (web/template_cache.py): a restarted web process loads them
from the state directory instead of compiling them again, and a cache that cannot be kept costs no page."""

from __future__ import annotations

from pathlib import Path

from web import create_app


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
