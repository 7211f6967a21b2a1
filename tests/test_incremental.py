"""Incremental and parallel builds give exactly the bytes of a clean serial build."""

from __future__ import annotations

import builtins
import contextlib
import gc
import io
import os
import pickle
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SITE_YAML, MakeSite, article
from generator import BuildOptions, build
from generator import builder as build_module
from generator import cache as cache_module
from generator import plan as plan_module
from generator import site as site_module
from generator import writer as writer_module
from generator.builder import Session
from generator.cache import CACHE_DIR, BuildCache
from generator.config import SiteConfig, load_config
from generator.diagnostics import BuildCancelled, BuildError
from generator.feeds import Feed
from generator.fingerprint import Fingerprinter, PageDigests, Settled
from generator.loader import (
    ArticleFile,
    as_columns,
    find_article_files,
    from_columns,
    load_articles,
)
from generator.model import (
    Article,
    BodyOf,
    FeedLink,
    Link,
    OutputFile,
    Page,
    RelatedItem,
    Site,
    article_page,
    linked,
    pointing_at,
    with_body,
)
from generator.plan import plan_pages
from generator.render import LINKS_READ
from generator.site import assemble_site
from generator.theme import find_theme, static_signature, template_digests
from generator.writer import OutputWriter, files_present

loader_module = sys.modules["generator.loader"]
render_module = sys.modules["generator.render"]

TOPICS = ["Rail", "Energy", "C++", "Économie", "ai", "AI"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _article_text(n: int, version: int) -> str:
    topics = ", ".join(f'"{TOPICS[(n + i) % len(TOPICS)]}"' for i in range(1 + n % 3))
    return article(
        f"Story {n} v{version}",
        f"2024-0{1 + n % 6}-{10 + n % 17}T{n % 24:02d}:00:00Z",
        body=f"Body of story {n}, version {version}.",
        topics=f"[{topics}]",
        webUrl=f"https://news.example/{n}",
    )


def _clean_build(
    content: Path,
    tmp: Path,
    full_content: bool = False,
    static: Path | None = None,
    settings: str = SITE_YAML,
    now: datetime | None = None,
) -> dict[str, bytes]:
    site = tmp / "clean"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir()
    (site / "site.yaml").write_text(
        settings + ("feeds:\n  full_content: true\n" if full_content else "")
    )
    shutil.copytree(content, site / "content")
    if static is not None:
        shutil.copytree(static, site / "static")
    build(site, BuildOptions(jobs=1, cache=False, now=now))
    return _tree(site / "output")


ACTIONS = st.lists(
    st.tuples(st.sampled_from(["add", "edit", "rename", "delete"]), st.integers(0, 30)),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(ACTIONS, min_size=1, max_size=3),
    remember=st.booleans(),
    jobs=st.sampled_from([1, 2]),
    keep=st.booleans(),
    clock=st.booleans(),
)
def test_any_sequence_of_changes_builds_like_a_clean_build(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    steps: list,  # type: ignore[type-arg]
    remember: bool,
    jobs: int,
    keep: bool,
    clock: bool,
) -> None:
    """As a command builds (reading the cache each time; with two jobs, workers compare
    the pages with the last build's), or the preview (one session); keeping the last
    build's addresses, as both do, or not. With `clock`, articles are held back until
    their date (`hide_future`) and each build runs six weeks after the one before, so
    articles come due between builds, whether or not their files change."""
    monkeypatch.setattr(build_module, "COMPARED_IN_WORKERS_FROM", 0)
    remembered = Session() if remember else None
    settings = SITE_YAML + ("hide_future: true\n" if clock else "")

    def options(version: int) -> BuildOptions:
        now = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(weeks=6 * version) if clock else None
        return BuildOptions(jobs=jobs, keep_last_good=keep, now=now)

    site = tmp_path / "site"
    shutil.rmtree(site, ignore_errors=True)
    content = site / "content"
    content.mkdir(parents=True)
    (site / "site.yaml").write_text(settings)
    for n in range(8):
        (content / f"a{n}.md").write_text(_article_text(n, 0))
    build(site, options(0), remembered)
    for version, actions in enumerate(steps, start=1):
        for action, n in actions:
            path = content / f"a{n}.md"
            if action == "add" or (action == "edit" and path.exists()):
                path.write_text(_article_text(n, version))
            elif action == "rename" and path.exists():
                path.rename(content / f"renamed-{n}-{version}.md")
            elif action == "delete" and path.exists():
                path.unlink()
        build(site, options(version), remembered)
        expected = _clean_build(content, tmp_path, settings=settings, now=options(version).now)
        assert _tree(site / "output") == expected


CLASHING_TITLES = ("Harbour reopens", "Harbour Reopens!", "Rail strike ends")
"""Headlines of which the first two make the same slug."""
BROKEN = "---\ntitle: [unclosed\n---\nStory text that never parses.\n"
_ARTICLE_PAGE = re.compile(r"\d{4}/\d{2}/\d{2}/[^/]+/index\.html")
_STORY = re.compile(r"Story (\d+) as of version (\d+)\.")

CHANGES = st.lists(
    st.tuples(st.sampled_from(["add", "edit", "rename", "delete", "break"]), st.integers(0, 9)),
    min_size=1,
    max_size=6,
)


def _clashing_text(n: int, version: int) -> str:
    """Story `n` as of `version`: its headline and day come from small pools, so slugs
    clash; its body names it and the version."""
    turn = n + version
    title = CLASHING_TITLES[turn % len(CLASHING_TITLES)]
    date = f"2024-03-{10 + turn % 2}T{n % 24:02d}:00:00Z"
    return article(title, date, body=f"Story {n} as of version {version}.")


def _story_pages(output: Path) -> dict[int, list[tuple[str, int]]]:
    """The article pages of each story, by its number: their paths and the version of
    the story each shows (from its body)."""
    pages: dict[int, list[tuple[str, int]]] = {}
    for path, data in _tree(output).items():
        if _ARTICLE_PAGE.fullmatch(path):
            stories = set(_STORY.findall(data.decode()))
            assert len(stories) == 1, f"{path} shows the bodies of stories {stories}"
            n, version = stories.pop()
            pages.setdefault(int(n), []).append((path, int(version)))
    return pages


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(CHANGES, min_size=1, max_size=3),
    remember=st.booleans(),
    keep=st.booleans(),
)
def test_clashing_and_broken_articles_in_any_order_lose_no_article(
    tmp_path: Path,
    steps: list[list[tuple[str, int]]],
    remember: bool,
    keep: bool,
) -> None:
    """Headlines and days that clash, and files broken and mended, in any order. Keeping
    the last build's addresses and versions (as the command and the preview build): every
    article has exactly one page after each build, the version its file has, or for a
    broken file the version the site last published, at the address it had; an article
    whose file was not touched stays at its address. Without: the output is a clean
    build's. Each broken file is one error."""
    session = Session() if remember else None
    options = BuildOptions(jobs=1, keep_last_good=keep)
    site = tmp_path / "site"
    shutil.rmtree(site, ignore_errors=True)
    content = site / "content"
    content.mkdir(parents=True)
    (site / "site.yaml").write_text(SITE_YAML)
    files = {n: content / f"a{n}.md" for n in range(6)}
    version_of: dict[int, int | None] = dict.fromkeys(files, 0)  # None: broken
    for n, path in files.items():
        path.write_text(_clashing_text(n, 0))
    assert build(site, options, session).errors == 0
    pages = _story_pages(site / "output")
    published_from = dict(files)  # the file each story on the site was built from
    for version, actions in enumerate(steps, start=1):
        touched = set()
        for action, n in actions:
            path = files.get(n)
            if path is None and action != "add":
                continue
            touched.add(n)
            if action in ("add", "edit"):
                files[n] = path or content / f"a{n}.md"
                files[n].write_text(_clashing_text(n, version))
                version_of[n] = version
            elif action == "break":
                path.write_text(BROKEN)
                version_of[n] = None
            elif action == "rename":
                files[n] = path.rename(content / f"r{n}-{version}.md")
            else:
                path.unlink()
                del files[n], version_of[n]
        broken = {n for n, v in version_of.items() if v is None}
        assert build(site, options, session).errors == len(broken)
        before, pages = pages, _story_pages(site / "output")
        assert all(len(found) == 1 for found in pages.values()), pages
        if not keep:
            assert sorted(pages) == sorted(set(files) - broken)
            assert _tree(site / "output") == _clean_build(content, tmp_path)
            continue
        # A broken file stands for the version last published from its path, if any.
        standing = {n for n in broken & set(before) if files[n] == published_from.get(n)}
        assert sorted(pages) == sorted(set(files) - broken | standing)
        for n, [(_, shown)] in pages.items():
            assert shown == (before[n][0][1] if n in standing else version_of[n])
        stay = {n for n in before if n in files and (n not in touched or n in standing)}
        assert {n: pages[n] for n in stay} == {n: before[n] for n in stay}
        published_from = {n: files[n] for n in pages}


CONDITIONAL_LINKS = (
    "{% for item in page.items %}<p>{{ item.title }}"
    "{% if item.title.endswith('v1') %} {{ item.previous.title if item.previous }}"
    "{% elif item.title.endswith('v2') %} {{ item.more_from_topics|map(attribute='path')|list }}"
    "{% endif %}</p>{% endfor %}\n"
)
"""A listing reading its articles' links for some of them, as their titles say."""


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(ACTIONS, min_size=1, max_size=3), remember=st.booleans())
def test_listings_reading_links_for_some_articles_build_like_a_clean_build(
    tmp_path: Path,
    steps: list,  # type: ignore[type-arg]
    remember: bool,
) -> None:
    """What a page's templates read of its articles' links depends on the articles:
    after any sequence of changes, the site is still what a clean build makes of it."""
    session = Session() if remember else None
    site = tmp_path / "site"
    shutil.rmtree(site, ignore_errors=True)
    (site / "content").mkdir(parents=True)
    (site / "templates").mkdir()
    (site / "site.yaml").write_text(SITE_YAML)
    (site / "templates" / "period.html").write_text(CONDITIONAL_LINKS)
    (site / "templates" / "topic.html").write_text(CONDITIONAL_LINKS)
    for n in range(10):
        (site / "content" / f"a{n}.md").write_text(_article_text(n, 0))
    build(site, BuildOptions(jobs=1), session)
    for version, actions in enumerate(steps, start=1):
        for action, n in actions:
            path = site / "content" / f"a{n % 12}.md"
            if action in ("add", "edit"):
                path.write_text(_article_text(n % 12, version % 3))
            elif path.exists():
                path.unlink()
        build(site, BuildOptions(jobs=1), session)
        cold = tmp_path / "cold"
        shutil.rmtree(cold, ignore_errors=True)
        shutil.copytree(site, cold, ignore=shutil.ignore_patterns("output", CACHE_DIR))
        build(cold, BuildOptions(jobs=1, cache=False))
        assert _tree(site / "output") == _tree(cold / "output")


def _big_site(root: Path, count: int = 160) -> Path:
    (root / "content").mkdir(parents=True)
    (root / "site.yaml").write_text(SITE_YAML)
    for n in range(count):
        (root / "content" / f"a{n}.md").write_text(_article_text(n, 0))
    return root


def test_parallel_and_serial_builds_are_identical(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site")
    one = build(site, BuildOptions(output_dir=tmp_path / "one", jobs=1, cache=False))
    build(site, BuildOptions(output_dir=tmp_path / "two", jobs=2, cache=False))
    assert one.pages > 128  # enough pages for the pool to be used
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")


def test_unchanged_rebuild_writes_nothing_and_an_edit_rewrites_little(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site")
    first = build(site, BuildOptions(jobs=2))
    assert first.written is not None and first.written.written > 100
    again = build(site, BuildOptions(jobs=2))
    assert again.written is not None and again.written.written == 0
    (site / "content" / "a5.md").write_text(_article_text(5, 1))
    edited = build(site, BuildOptions(jobs=2))
    assert edited.written is not None and 0 < edited.written.written < first.written.written / 4
    assert edited.parsed == 1


def test_a_renamed_file_s_page_shows_its_new_name_and_id(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=2)
    (site / "templates").mkdir()
    (site / "templates/article.html").write_text(
        '{% extends "theme/article.html" %}'
        "{% block description %}{{ page.article.id }} {{ page.article.source_path }}"
        "{% endblock %}"
    )
    build(site, BuildOptions(jobs=1))
    (site / "content/a1.md").rename(site / "content/renamed.md")
    build(site, BuildOptions(jobs=1))
    [page] = (site / "output").rglob("story-1-v0/index.html")
    assert "renamed content/renamed.md" in page.read_text()


def test_damaged_compiled_templates_are_compiled_again(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=2)
    build(site, BuildOptions(jobs=1))
    compiled = list((site / CACHE_DIR / "templates").glob("*.cache"))
    assert compiled
    for path in compiled:
        path.write_bytes(path.read_bytes()[:20])
    (site / "content/a1.md").write_text(_article_text(1, 2))
    report = build(site, BuildOptions(jobs=1))
    assert report.errors == 0 and report.written is not None and report.written.written > 0
    assert all(len(path.read_bytes()) > 20 for path in compiled)  # compiled again
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


@pytest.mark.parametrize("first_a_file", [True, False])
def test_a_static_file_and_a_folder_of_its_name_may_take_each_other_s_place(
    tmp_path: Path, first_a_file: bool
) -> None:
    site = _big_site(tmp_path / "site", count=2)

    def as_file() -> None:
        shutil.rmtree(site / "static/x", ignore_errors=True)
        (site / "static/x").write_text("1")

    def as_folder() -> None:
        (site / "static/x").unlink(missing_ok=True)
        (site / "static/x").mkdir(parents=True, exist_ok=True)
        (site / "static/x/y").write_text("2")

    (site / "static").mkdir()
    for step, make in enumerate(
        [as_file, as_folder, as_file] if first_a_file else [as_folder, as_file, as_folder]
    ):
        make()
        report = build(site, BuildOptions(jobs=1))
        assert report.errors == 0
        assert report.written is not None and report.written.removed == min(step, 1)
        assert _tree(site / "output") == _clean_build(
            site / "content", tmp_path, static=site / "static"
        )
    left = {path.name for path in (site / "output").rglob(".*broadsheet-*")}
    assert left == {".broadsheet-manifest", ".broadsheet-lock"}  # nothing left half done


def test_a_folder_holding_files_of_another_program_is_not_replaced(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=2)
    (site / "static/x").mkdir(parents=True)
    (site / "static/x/y").write_text("2")
    build(site, BuildOptions(jobs=1))
    (site / "output/static/x/mine.txt").write_text("not the build's")
    shutil.rmtree(site / "static/x")
    (site / "static/x").write_text("1")
    with pytest.raises(BuildError) as raised:
        build(site, BuildOptions(jobs=1))
    assert "holds files this tool did not write" in str(raised.value)
    (site / "output/static/x/mine.txt").unlink()
    assert build(site, BuildOptions(jobs=1)).errors == 0
    assert (site / "output/static/x").read_text() == "1"


def test_a_stored_block_that_reads_the_site_renders_every_page_again_when_that_changes(
    tmp_path: Path,
) -> None:
    site = _big_site(tmp_path / "site", count=4)
    (site / "templates").mkdir()
    (site / "templates/article.html").write_text(
        '{% extends "theme/article.html" %}{% block description %}'
        '{% cache "updated" %}{{ site.updated }}{% endcache %}{% endblock %}'
    )
    build(site, BuildOptions(jobs=1))
    (site / "content/a9.md").write_text(
        article("Newest", "2030-01-01T00:00:00Z", webUrl="https://news.example/9")
    )
    build(site, BuildOptions(jobs=1))
    cold = tmp_path / "cold"
    shutil.copytree(site, cold, ignore=shutil.ignore_patterns("output", CACHE_DIR))
    build(cold, BuildOptions(jobs=1))
    assert _tree(site / "output") == _tree(cold / "output")


def test_the_cache_is_ignored_by_git(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=2)
    build(site, BuildOptions(jobs=1))
    assert (site / CACHE_DIR / ".gitignore").read_text() == "*\n"
    git = shutil.which("git")
    if git:  # and git agrees
        subprocess.run([git, "init", "-q", str(site)], check=True)
        listed = subprocess.run(
            [git, "-C", str(site), "status", "--porcelain", "--untracked-files=all"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        assert "content/" in listed and CACHE_DIR not in listed


def test_corrupt_cache_is_discarded_with_a_warning(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=5)
    build(site, BuildOptions(jobs=1))
    expected = _tree(site / "output")
    (site / CACHE_DIR / "cache.sqlite").write_bytes(b"this is not a database" * 100)
    report = build(site, BuildOptions(jobs=1))
    assert [str(d) for d in report.diagnostics] == [
        f"{CACHE_DIR}/cache.sqlite: warning: cache was unreadable; discarded it"
    ]
    assert _tree(site / "output") == expected
    assert build(site, BuildOptions(jobs=1)).diagnostics == ()


def test_a_cache_damaged_inside_is_discarded_and_the_site_built_anew(tmp_path: Path) -> None:
    # Damage that opening the cache does not see: pages in the middle of the file.
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "site.yaml").write_text(SITE_YAML)
    for n in range(300):
        text = _article_text(n, 0).replace("version 0.", "version 0. " + "Words. " * 120)
        (site / "content" / f"a{n}.md").write_text(text)
    build(site, BuildOptions(jobs=1))
    cache_file = site / CACHE_DIR / "cache.sqlite"
    assert cache_file.stat().st_size > 20 * 4096
    with cache_file.open("r+b") as file:
        file.seek(5 * 4096)
        file.write(b"\xff" * 10 * 4096)
    for n in range(0, 40, 3):
        (site / "content" / f"a{n}.md").write_text(_article_text(n, 1))
    report = build(site, BuildOptions(jobs=2))
    assert [str(d) for d in report.diagnostics] == [
        f"{CACHE_DIR}/cache.sqlite: warning: cache was damaged (database disk image is "
        "malformed); discarded it, built anew"
    ]
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)
    assert build(site, BuildOptions(jobs=1)).diagnostics == ()


def test_a_cache_locked_by_another_program_is_left_alone(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=5)
    build(site, BuildOptions(jobs=1))
    expected = _tree(site / "output")
    with contextlib.closing(sqlite3.connect(site / CACHE_DIR / "cache.sqlite")) as db:
        db.execute("BEGIN EXCLUSIVE")  # a program reading it, say; the build waits 5 s
        report = build(site, BuildOptions(jobs=1))
        db.rollback()
    assert [str(d) for d in report.diagnostics] == [
        f"{CACHE_DIR}: warning: cache not used: database is locked; builds will not be incremental"
    ]
    assert _tree(site / "output") == expected
    assert build(site, BuildOptions(jobs=1)).parsed == 0  # the cache is still there


def test_a_cache_laid_out_by_another_version_is_replaced_without_a_warning(
    tmp_path: Path,
) -> None:
    site = _big_site(tmp_path / "site", count=5)
    build(site, BuildOptions(jobs=1))
    with sqlite3.connect(site / CACHE_DIR / "cache.sqlite") as db:  # as an older version had it
        db.execute("DROP TABLE files")
        db.execute("DROP TABLE batches")
        db.execute("CREATE TABLE files (path TEXT PRIMARY KEY, mtime_ns, size, sha, result)")
        db.execute("INSERT INTO files VALUES ('content/a1.md', 0, 0, '', x'00')")
        db.execute("UPDATE meta SET value = 'an older version' WHERE key = 'stamp'")
    (site / "content" / "a1.md").write_text(_article_text(1, 1))
    report = build(site, BuildOptions(jobs=1))
    assert report.diagnostics == () and report.parsed == 5
    (site / "content" / "a2.md").write_text(_article_text(2, 1))
    assert build(site, BuildOptions(jobs=1)).parsed == 1
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


def test_foreign_cache_entries_are_not_trusted(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=5)
    build(site, BuildOptions(jobs=1))
    with sqlite3.connect(site / CACHE_DIR / "cache.sqlite") as db:
        db.execute("UPDATE batches SET results = x'00ff00ff'")
        db.execute("DELETE FROM builds")
    (site / "content" / "a1.md").touch()
    report = build(site, BuildOptions(jobs=1))
    assert report.errors == 0 and report.articles == 5
    assert report.parsed == 5


def test_templates_compiled_for_other_generator_code_are_deleted_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _big_site(tmp_path / "site", count=5)
    build(site, BuildOptions(jobs=1))
    compiled = site / CACHE_DIR / "templates"
    suffix = render_module._COMPILED_SUFFIX
    before = sorted(path.name for path in compiled.iterdir())
    assert before and all(name.endswith(suffix) for name in before)
    # Another version of the generator (another `cache` tag, say) compiles them anew.
    monkeypatch.setattr(render_module, "_COMPILED_SUFFIX", ".another.cache")
    (site / "content" / "a1.md").touch()
    assert build(site, BuildOptions(jobs=1)).errors == 0
    after = sorted(path.name for path in compiled.iterdir())
    assert after == [name.replace(suffix, ".another.cache") for name in before]


def _cached(site: Path) -> tuple[list[object], dict[str, str]]:
    with sqlite3.connect(site / CACHE_DIR / "cache.sqlite") as db:
        batch_of = dict(db.execute("SELECT path, batch FROM files").fetchall())
        batches = db.execute("SELECT id, results FROM batches").fetchall()
        articles = [
            article
            for batch, blob in batches
            for path, article, _ in pickle.loads(blob)
            if batch_of.get(path) == batch  # the file's current result
        ]
        bodies = dict(db.execute("SELECT key, html FROM bodies").fetchall())
    return articles, bodies


def test_bodies_are_kept_in_the_cache_not_in_the_articles(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=140)
    (site / "site.yaml").write_text(SITE_YAML + "feeds:\n  full_content: true\n")
    build(site, BuildOptions(jobs=2))  # workers read the bodies they render
    articles, bodies = _cached(site)
    assert len(articles) == 140 and len(bodies) == 140
    assert all(a.body_html is None and a.source_hash in bodies for a in articles)  # type: ignore[attr-defined]
    assert "<p>Body of story 7, version 0.</p>\n" in bodies.values()
    build(site, BuildOptions(output_dir=tmp_path / "inline", jobs=1, cache=False))
    assert _tree(site / "output") == _tree(tmp_path / "inline")
    page = next((site / "output").glob("2024/*/*/story-7-v0/index.html")).read_text()
    assert "<p>Body of story 7, version 0.</p>" in page
    assert "<description>&lt;p&gt;Body of story " in (site / "output" / "feed.xml").read_text()


def test_a_build_without_the_sites_cache_keeps_bodies_in_a_scratch_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _big_site(tmp_path / "site", count=20)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    stowed: list[str] = []
    stow = BuildCache.stow

    def counted(self: BuildCache, key: str, body: str) -> None:
        stowed.append(key)
        stow(self, key, body)

    monkeypatch.setattr(BuildCache, "stow", counted)
    checked = build(site, BuildOptions(write=False, jobs=1))  # `broadsheet check`
    assert checked.errors == 0 and checked.rendered == checked.pages
    assert len(stowed) == 20
    assert sorted(p.name for p in site.iterdir()) == ["content", "site.yaml"]  # wrote nothing
    build(site, BuildOptions(output_dir=tmp_path / "out", jobs=1, cache=False))
    assert len(stowed) == 40
    assert sorted(p.name for p in site.iterdir()) == ["content", "site.yaml"]
    assert not list(scratch.iterdir())  # the scratch caches are gone
    build(site, BuildOptions(jobs=1))
    assert _tree(site / "output") == _tree(tmp_path / "out")


def _batches(site: Path) -> list[list[str]]:
    """The paths whose parse results each stored batch holds, current or not."""
    with sqlite3.connect(site / CACHE_DIR / "cache.sqlite") as db:
        blobs = db.execute("SELECT results FROM batches ORDER BY id").fetchall()
    return [sorted(Path(result[0]).stem for result in pickle.loads(blob)) for (blob,) in blobs]


@pytest.mark.usefixtures("times_tell_changes")
def test_parse_results_are_stored_in_batches_whose_stale_results_do_not_pile_up(
    tmp_path: Path,
) -> None:
    site = _big_site(tmp_path / "site", count=10)
    assert build(site, BuildOptions(jobs=1)).parsed == 10
    everything = sorted(f"a{n}" for n in range(10))
    assert _batches(site) == [everything]
    for n in range(6):
        (site / "content" / f"a{n}.md").write_text(_article_text(n, 1))
    assert build(site, BuildOptions(jobs=1)).parsed == 6
    edited = [f"a{n}" for n in range(6)]
    assert _batches(site) == [everything, edited]  # the first still holds 4 current results
    # A build that finds a batch holding more stale results than current ones stores the
    # current ones again, without parsing them, and lets the worn batch go.
    (site / "content" / "a0.md").write_text(_article_text(0, 2))
    assert build(site, BuildOptions(jobs=1)).parsed == 1
    assert _batches(site) == [edited, ["a0"], ["a6", "a7", "a8", "a9"]]
    (site / "content" / "a0.md").unlink()
    (site / "content" / "a1.md").unlink()
    assert build(site, BuildOptions(jobs=1)).parsed == 0
    assert _batches(site) == [edited, ["a6", "a7", "a8", "a9"]]  # none current left in one
    assert build(site, BuildOptions(jobs=1)).parsed == 0
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


def test_bodies_of_deleted_files_leave_the_cache(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=5)
    build(site, BuildOptions(jobs=1))
    (site / "content" / "a2.md").unlink()
    (site / "content" / "a3.md").write_text(_article_text(3, 1))
    build(site, BuildOptions(jobs=1))
    articles, bodies = _cached(site)
    assert sorted(bodies.values()) == sorted(
        f"<p>Body of story {n}, version {v}.</p>\n" for n, v in ((0, 0), (1, 0), (3, 1), (4, 0))
    )
    assert {a.source_hash for a in articles} == set(bodies)  # type: ignore[attr-defined]


def test_a_body_missing_from_the_cache_is_parsed_again(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=5)
    build(site, BuildOptions(jobs=1))
    expected = _tree(site / "output")
    with sqlite3.connect(site / CACHE_DIR / "cache.sqlite") as db:
        db.execute("DELETE FROM bodies WHERE html LIKE '%story 2,%'")
    (site / "output" / "index.html").unlink()  # so the build does not stop at "nothing to do"
    report = build(site, BuildOptions(jobs=1))
    assert report.errors == 0 and report.parsed == 1
    assert _tree(site / "output") == expected


def test_settled_digests_equal_those_made_on_demand(tmp_path: Path) -> None:
    site_dir = _big_site(tmp_path / "site", count=20)
    config = load_config(site_dir)
    site = assemble_site(config, load_articles(site_dir, config.tz).articles).site
    pages = plan_pages(site)
    uses = frozenset({"topics", "articles", "top_stories", "updated"})
    on_demand = PageDigests("salt", site)
    settled = PageDigests("salt", site)
    settled.settle()
    assert [settled.of(p, uses) for p in pages] == [on_demand.of(p, uses) for p in pages]
    assert len({on_demand.of(p, uses) for p in pages}) == len(pages)
    adopted = PageDigests("salt", site)
    adopted.adopt(PageDigests("salt", site).settled())
    assert [adopted.of(p, uses) for p in pages] == [on_demand.of(p, uses) for p in pages]
    # What is adopted is what the digests are made from.
    told = PageDigests("salt", site).settled()
    wrong = PageDigests("salt", site)
    not_so = (tuple(f"{t} (not so)" for t in told.articles), told.site_parts)
    wrong_cards = tuple(f"{c} (not so)" for c in told.cards)
    wrong.adopt(Settled(not_so[0], wrong_cards, not_so[1]))
    changed = [wrong.of(p, uses) != on_demand.of(p, uses) for p in pages]
    assert changed == [bool(p.article or p.items) for p in pages]
    # Pages whose templates read no links are digested by their articles' cards alone.
    cards_only = PageDigests("salt", site)
    cards_only.adopt(Settled(not_so[0], told.cards, not_so[1]))
    changed = [cards_only.of(p, uses) != on_demand.of(p, uses) for p in pages]
    assert not any(changed)
    linked = uses | {LINKS_READ}
    changed = [cards_only.of(p, linked) != on_demand.of(p, linked) for p in pages]
    assert changed == [bool(p.article or p.items) for p in pages]
    warm = Fingerprinter("salt")
    assert [warm.spelled(p) for p in pages] == [Fingerprinter("salt").spelled(p) for p in pages]
    assert [warm.spelled(p) for p in pages] == [Fingerprinter("salt").spelled(p) for p in pages]


def test_only_the_feeds_that_list_a_changed_article_are_rendered_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _big_site(tmp_path / "site", count=12)
    build(site, BuildOptions(jobs=1))
    rendered: list[str] = []
    module = build_module
    real = module.render_feed

    def render_feed(site: Site, feed: Feed, body_of: BodyOf) -> OutputFile:
        rendered.append(feed.path)
        return real(site, feed, body_of)

    monkeypatch.setattr(module, "render_feed", render_feed)
    (site / "output" / "index.html").unlink()  # so the build does not stop at "nothing to do"
    build(site, BuildOptions(jobs=1))
    assert rendered == []
    # Story 6 is on "Rail" alone. Its neighbours' pages link to it by title, but their
    # feed entries do not show those links: the feeds of their topics stay as they are.
    (site / "content" / "a6.md").write_text(_article_text(6, 1))
    build(site, BuildOptions(jobs=1))
    assert sorted(rendered) == ["atom.xml", "feed.xml", "topics/rail/feed.xml"]
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


def _rendered_pages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The output paths of the pages the builds render from now on."""
    rendered: list[str] = []
    real = build_module.render_page

    def render_page(env: Any, site: Site, page: Page, body_of: BodyOf) -> Any:
        rendered.append(page.output_path)
        return real(env, site, page, body_of)

    monkeypatch.setattr(build_module, "render_page", render_page)
    return rendered


def test_a_page_is_rendered_again_only_if_it_comes_out_different(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A neighbour's new title changes the links of the articles beside it, which the
    listings showing them do not show: those are not rendered again."""
    site = _big_site(tmp_path / "site", count=30)
    build(site, BuildOptions(jobs=1))
    before = _tree(site / "output")
    rendered = _rendered_pages(monkeypatch)
    (site / "content" / "a6.md").write_text(_article_text(6, 1))
    build(site, BuildOptions(jobs=1))
    after = _tree(site / "output")
    changed = {path for path, data in after.items() if before.get(path) != data}
    assert "2024/01/17/index.html" not in rendered  # the day of a24, whose previous is a6
    assert "2024/01/16/index.html" in rendered  # a6's own
    # Those reading lists of the whole site (digested whole), which a6 is in, may be
    # rendered again and come out the same; no other page does.
    site_wide = {"index.html", "topics/index.html", "archive/index.html"}
    assert set(rendered) - changed <= site_wide
    assert after == _clean_build(site / "content", tmp_path)


READING_LINKS = [
    "{{ item.previous.title if item.previous else '' }}",
    "{{ item|attr('next') }}",
    "{{ item['previous'] }}",
    "{{ page.items|map(attribute='previous')|list }}",
    "{{ page.items|selectattr('next')|map(attribute='next.title')|join(', ') }}",
    "{{ '{0.previous}'.format(item) }}",
    "{{ item.__getattribute__('previous') }}",
    "{% for link in item.more_from_topics %}{{ link.title }}{% endfor %}",
    "{% cache item.path, item.source_hash %}{{ item.previous }}{% endcache %}",
    "{{ item }}",  # its own fields alone: none of its links
    "{{ page }}",
]


@pytest.mark.parametrize("reading", READING_LINKS)
def test_a_listing_showing_its_articles_links_follows_their_change(
    tmp_path: Path, reading: str
) -> None:
    """However a template reads an article's links, a listing that shows them is
    rendered again when they change: a6 is renamed, the previous of a24 (listed on
    its day, the 17th) and the next of a18 (on the 11th)."""
    site = _big_site(tmp_path / "site", count=30)
    (site / "templates").mkdir()
    (site / "templates" / "period.html").write_text(
        f"{{% for item in page.items %}}<p>{{{{ item.title }}}} {reading}</p>{{% endfor %}}\n"
    )
    build(site, BuildOptions(jobs=1))
    days = [site / "output/2024/01" / day / "index.html" for day in ("11", "17")]
    before = [day.read_text() for day in days]
    (site / "content" / "a6.md").write_text(_article_text(6, 1))
    build(site, BuildOptions(jobs=1))
    cold = tmp_path / "cold"
    shutil.copytree(site, cold, ignore=shutil.ignore_patterns("output", CACHE_DIR))
    build(cold, BuildOptions(jobs=1))
    assert _tree(site / "output") == _tree(cold / "output")
    after = [day.read_text() for day in days]
    assert (after != before) == (reading not in ("{{ item }}", "{{ page }}"))
    assert not any("previous=" in day or "more_from_topics=" in day for day in after)


def test_templates_rendered_by_another_environment_are_taken_to_read_every_link_and_template(
    tmp_path: Path,
) -> None:
    site_dir = _big_site(tmp_path / "site", count=3)
    config = load_config(site_dir)
    site = assemble_site(config, load_articles(site_dir, config.tz).articles).site
    page = next(p for p in plan_pages(site) if p.items)
    env = jinja2.Environment(loader=jinja2.DictLoader({page.template: "{{ page.title }}"}))
    rendered = render_module.render_page(env, site, page, lambda a: "")
    assert rendered.uses == frozenset({LINKS_READ, render_module.ALL_TEMPLATES})
    noting = render_module.NotingEnvironment(loader=env.loader)
    noted = render_module.render_page(noting, site, page, lambda a: "").uses
    assert noted == frozenset({render_module.template_read(page.template)})


def test_a_full_content_feed_follows_an_edit_of_a_body_alone(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=4)
    (site / "site.yaml").write_text(SITE_YAML + "feeds:\n  full_content: true\n")
    build(site, BuildOptions(jobs=1))
    text = (site / "content" / "a2.md").read_text()
    (site / "content" / "a2.md").write_text(text.replace("version 0.", "version 0, revised."))
    build(site, BuildOptions(jobs=1))
    assert "story 2, version 0, revised." in (site / "output" / "feed.xml").read_text()
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path, full_content=True)


@pytest.mark.parametrize("few", [True, False])
def test_workers_comparing_pages_render_the_changed_ones_when_few(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, few: bool
) -> None:
    monkeypatch.setattr(build_module, "COMPARED_IN_WORKERS_FROM", 0)
    if not few:
        monkeypatch.setattr(build_module, "RENDERED_WHILE_COMPARING", 2)
    site = _big_site(tmp_path / "site", count=12)
    build(site, BuildOptions(jobs=2))
    mapped: list[tuple[str, int]] = []
    parallel_map = build_module.parallel_map

    def recording(function, items, *args, **kwargs):  # type: ignore[no-untyped-def]
        mapped.append((function.__name__, len(items)))
        return parallel_map(function, items, *args, **kwargs)

    monkeypatch.setattr(build_module, "parallel_map", recording)
    (site / "content" / "a3.md").write_text(_article_text(3, 1))
    report = build(site, BuildOptions(jobs=2))
    # Its page, the listings and archives showing it, and its neighbours'.
    assert report.rendered > 2
    left = 0 if few else report.rendered  # pages left to fresh workers (or this process)
    assert mapped == [("_compare_and_render", 3), ("_render_and_stage", left)]
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


def _note_process(log: Path) -> None:
    """Add the id of the process running this to `log`, a line each."""
    with log.open("a") as file:
        file.write(f"{os.getpid()}\n")


def test_articles_spelled_in_another_process_while_pages_are_planned_give_the_same_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_module, "SETTLED_BESIDE_PLAN_FROM", 0)
    settled_by = tmp_path / "settled-by"
    real = PageDigests.settled

    def settled(self: PageDigests) -> Settled:
        _note_process(settled_by)
        return real(self)

    monkeypatch.setattr(PageDigests, "settled", settled)
    site = _big_site(tmp_path / "site", count=12)
    build(site, BuildOptions(jobs=2))
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)
    (site / "content" / "a3.md").write_text(_article_text(3, 1))
    (site / "content" / "a20.md").write_text(_article_text(20, 0))
    events: list[str] = []
    real_adopt, real_make_way = PageDigests.adopt, OutputWriter.make_way
    monkeypatch.setattr(
        PageDigests, "adopt", lambda s, v: events.append("adopted") or real_adopt(s, v)
    )
    monkeypatch.setattr(
        OutputWriter, "make_way", lambda s, p: events.append("made way") or real_make_way(s, p)
    )
    report = build(site, BuildOptions(jobs=2))
    assert events == ["made way", "adopted"]  # the writer got ready while they were spelled
    assert 2 < report.rendered < report.pages
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)
    pids = settled_by.read_text().split()
    assert len(pids) == 2 and str(os.getpid()) not in pids
    monkeypatch.setattr(build_module, "SETTLED_BESIDE_PLAN_FROM", 10**9)
    (site / "content" / "a3.md").write_text(_article_text(3, 2))
    assert build(site, BuildOptions(jobs=2)).rendered > 2
    assert len(settled_by.read_text().split()) == 2  # not for a small site


@pytest.mark.usefixtures("times_tell_changes")
def test_files_found_in_another_process_while_the_cache_is_read_give_the_same_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_module, "SCANNED_BESIDE_CACHE_FROM", 0)
    scanned_by = tmp_path / "scanned-by"
    real = build_module.find_article_files

    def find(site_dir: Path, cancel: threading.Event | None) -> tuple[object, ...]:
        if site_dir == site:  # not the clean builds'
            _note_process(scanned_by)
        return real(site_dir, cancel)

    site = _big_site(tmp_path / "site", count=12)
    monkeypatch.setattr(build_module, "find_article_files", find)
    build(site, BuildOptions(jobs=2))  # no last build: found here
    (site / "content" / "a3.md").write_text(_article_text(3, 1))
    (site / "content" / "a20.md").write_text(_article_text(20, 0))
    (site / "content" / "a5.md").unlink()
    report = build(site, BuildOptions(jobs=2))
    assert report.parsed == 2  # the others came from the cache
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)
    taken: list[int] = []
    real_files = build_module._Found.files
    monkeypatch.setattr(build_module._Found, "files", lambda s: taken.append(1) or real_files(s))
    again = build(site, BuildOptions(jobs=2))  # nothing changed: the read ahead is dropped
    assert again.written is not None and (again.written.written, again.rendered) == (0, 0)
    assert taken == []  # told by the files' signature alone
    pids = scanned_by.read_text().split()
    assert pids[0] == str(os.getpid()) and len(pids) == 3
    assert str(os.getpid()) not in pids[1:]


@pytest.mark.usefixtures("times_tell_changes")
def test_parse_results_are_read_on_while_the_files_found_are_on_their_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _big_site(tmp_path / "site", count=12)
    build(site, BuildOptions(jobs=1))
    for n in (3, 20):  # three batches of parse results in all
        (site / "content" / f"a{n}.md").write_text(_article_text(n, 1))
        build(site, BuildOptions(jobs=1))
    (site / "content" / "a30.md").write_text(_article_text(30, 0))
    monkeypatch.setattr(build_module, "SCANNED_BESIDE_CACHE_FROM", 0)
    here, real_columns, real_unpack = os.getpid(), build_module.as_columns, cache_module.unpack
    unpacked: list[int] = []

    def late_columns(files: Any) -> Any:
        if os.getpid() != here:  # the files come two seconds after their signature
            time.sleep(2)
        return real_columns(files)

    def slow_unpack(packed: bytes) -> Any:
        time.sleep(0.3)  # the signature comes while the first batch is read
        unpacked.append(1)
        return real_unpack(packed)

    monkeypatch.setattr(build_module, "as_columns", late_columns)
    monkeypatch.setattr(cache_module, "unpack", slow_unpack)
    read_when_found: list[int] = []
    real_files = build_module._Found.files
    monkeypatch.setattr(
        build_module._Found,
        "files",
        lambda s: read_when_found.append(len(unpacked)) or real_files(s),
    )
    report = build(site, BuildOptions(jobs=2))
    assert read_when_found == [3]  # every batch, not only those read before the signature
    assert report.parsed == 1
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


def test_files_handed_over_as_columns_come_back_the_same(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=3)
    (site / "content" / "gone.md").symlink_to(site / "nowhere.md")  # not measurable
    (site / "content" / "linked").symlink_to(site / "content")  # reported, not entered
    files = find_article_files(site)
    columns = pickle.loads(pickle.dumps(as_columns(files)))
    back = from_columns(columns)
    assert back == files and len(files) == 5
    assert [type(f) for f in back] == [type(f) for f in files]
    assert [f.shown for f in back if not f.readable] == ["content/gone.md", "content/linked"]
    assert from_columns(as_columns(())) == ()


def test_a_file_rewritten_with_its_old_size_and_time_is_read_again(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=6)
    build(site, BuildOptions(jobs=1))
    path = site / "content" / "a3.md"
    before = path.stat()
    edited = path.read_text().replace("Story 3 v0", "Story 3 vX")  # the same length
    replacement = path.with_suffix(".new")
    replacement.write_text(edited)
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `touch -r` does
    replacement.rename(path)  # as a scraper or `cp -p` puts a file in place
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    report = build(site, BuildOptions(jobs=1))
    assert report.parsed == 1
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


def test_a_build_ended_early_leaves_nothing_young_for_the_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_module, "SCANNED_BESIDE_CACHE_FROM", 0)
    site = _big_site(tmp_path / "site", count=40)
    build(site, BuildOptions(jobs=2))
    left: list[object] = []  # as by a process about to exit, which frees nothing
    report = build(site, BuildOptions(jobs=2), leave=left)  # nothing to do, read ahead
    assert report.written is not None and report.written.written == 0
    [read] = [o for o in left if isinstance(o, BuildCache)]
    article = next(iter(read._found.values())).article
    assert any(o is article for o in gc.get_objects(generation=2))  # among the oldest


_BUILDS_IN_A_LOOP = """
import gc, sys
from pathlib import Path
from generator import BuildOptions, build
site, builds = Path(sys.argv[1]), int(sys.argv[2])
story = site / "content" / "a1.md"
text = story.read_text()
tracked = []
for n in range(builds):
    story.write_text(text.replace("Story 1 v0", f"Story 1 v{n + 1}"))
    assert build(site, BuildOptions(jobs=1)).written.written > 0
    tracked.append(len(gc.get_objects()))
print(tracked[0], tracked[-1])
"""


def test_builds_in_a_loop_leave_their_garbage_to_the_collector(tmp_path: Path) -> None:
    # In a process of its own, whose objects are the builds' alone: each build with an
    # edit leaves garbage cycles (rendering's), which Python's own rule would never
    # collect once frozen and unfrozen into the oldest generation.
    site = _big_site(tmp_path / "site", count=12)
    script = [sys.executable, "-c", _BUILDS_IN_A_LOOP, str(site), "40"]
    result = subprocess.run(script, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    first, last = map(int, result.stdout.split())
    assert last < first * 1.5  # 2.9 times as many without collecting


def test_parse_results_read_ahead_in_part_are_all_given_by_files(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=12)
    build(site, BuildOptions(jobs=1))
    for n in (3, 20):  # two more batches of parse results
        (site / "content" / f"a{n}.md").write_text(_article_text(n, 1))
        build(site, BuildOptions(jobs=1))

    def opened() -> BuildCache:
        scratch = contextlib.ExitStack()
        tz = load_config(site).tz
        return build_module._open_cache(site, BuildOptions(), tz, None, scratch)[0]

    whole = opened()
    expected = whole.files()
    whole.close()
    assert len(expected) == 13
    asked: list[int] = []
    cache = opened()
    cache.read_ahead(until=lambda: bool(asked.append(1)))  # never stops early
    assert len(asked) == 3  # asked after each batch
    assert cache.files() == expected
    cache.close()
    asked.clear()
    cache = opened()
    cache.read_ahead(until=lambda: bool(asked.append(1)) or len(asked) == 2)
    assert len(asked) == 2
    assert cache.files() == expected  # the third batch is read now
    cache.close()
    cache = opened()
    cache.read_ahead(until=lambda: True)  # paused after one batch, as a build with nothing
    cache.close()  # to do leaves it: the database is let go all the same
    with contextlib.closing(sqlite3.connect(site / CACHE_DIR / "cache.sqlite", timeout=0)) as db:
        db.execute("BEGIN EXCLUSIVE")  # "database is locked" while a read is open
        db.rollback()


@pytest.mark.parametrize(
    ("setting", "before", "after"),
    [
        ("timezone", "UTC", "Asia/Tokyo"),  # moves the late article to the next day
        ("base_url", "https://test.example/news/", "https://test.example/"),
        ("--base-url", "https://cdn.test.example/sub/", None),  # then site.yaml's again
    ],
)
def test_a_changed_setting_gives_what_a_clean_build_of_it_gives(
    tmp_path: Path, setting: str, before: str, after: str | None
) -> None:
    site = _big_site(tmp_path / "site", count=6)
    (site / "content" / "late.md").write_text(article("Late", "2024-03-10T23:30:00Z"))
    others = [line for line in SITE_YAML.splitlines() if not line.startswith(f"{setting}:")]

    def built_with(value: str | None) -> dict[str, bytes]:
        """Build the site with the setting at `value`; what a clean build of it writes."""
        flag = value if setting == "--base-url" else None
        if flag is None and value is not None:
            (site / "site.yaml").write_text("\n".join([*others, f"{setting}: {value}", ""]))
        build(site, BuildOptions(jobs=1, base_url=flag))
        clean = tmp_path / "clean"
        shutil.rmtree(clean, ignore_errors=True)
        shutil.copytree(site, clean, ignore=shutil.ignore_patterns("output", CACHE_DIR))
        build(clean, BuildOptions(jobs=1, cache=False, base_url=flag))
        return _tree(clean / "output")

    first = built_with(before)
    assert _tree(site / "output") == first
    expected = built_with(after)
    assert expected != first
    assert _tree(site / "output") == expected


@pytest.mark.parametrize("jobs", [1, 2])
def test_files_changed_by_hand_are_made_right_by_a_build_without_the_cache(
    tmp_path: Path, jobs: int
) -> None:
    site = _big_site(tmp_path / "site", count=40)
    build(site, BuildOptions(jobs=jobs))
    expected = _tree(site / "output")
    page = next((site / "output").glob("2024/*/*/story-3-v0/index.html"))
    same_size = page.read_bytes().replace(b"Story 3", b"Story X")
    page.write_bytes(same_size)
    (site / "output" / "feed.xml").write_text("junk")
    (site / "output" / "sitemap.xml").write_text("junk")
    style = site / "output/static/style.css"
    style.write_bytes(style.read_bytes().swapcase())  # a copied file, as long
    shutil.rmtree(site / CACHE_DIR)
    report = build(site, BuildOptions(jobs=jobs))
    assert report.written is not None and report.written.written == 4
    assert _tree(site / "output") == expected


@pytest.mark.parametrize(("jobs", "slow"), [(1, False), (2, False), (1, True), (2, True)])
def test_a_page_removed_from_the_output_is_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int, slow: bool
) -> None:
    monkeypatch.setattr(build_module, "COMPARED_IN_WORKERS_FROM", 0)  # workers compare
    if slow:  # the pages' files are looked up as on a cold disk: side by side
        monkeypatch.setattr(writer_module, "LOOKED_UP_AT_ONCE", 2)
        monkeypatch.setattr(writer_module, "SLOW_LOOKUP_NS", 0)
    site = _big_site(tmp_path / "site", count=5)
    build(site, BuildOptions(jobs=jobs))
    expected = _tree(site / "output")
    page = next((site / "output").glob("2024/*/*/story-3-v0/index.html"))
    page.unlink()
    (site / "output" / "topics" / "rail" / "feed.xml").unlink()
    report = build(site, BuildOptions(jobs=jobs))
    assert report.written is not None and report.written.written == 2
    assert report.rendered == 1  # the feed is not a page
    assert _tree(site / "output") == expected


@pytest.mark.parametrize("slow", [False, True])
def test_files_are_looked_up_side_by_side_once_the_file_system_answers_slowly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slow: bool
) -> None:
    monkeypatch.setattr(writer_module, "LOOKED_UP_AT_ONCE", 4)
    # Every batch takes longer than 0 ns (the file system reads its disk), none longer
    # than a second a file (it answers from memory): the clock of a busy machine decides
    # neither case.
    monkeypatch.setattr(writer_module, "SLOW_LOOKUP_NS", 0 if slow else 10**9)
    names = []
    for n in range(40):
        page = tmp_path / str(n) / "index.html"
        page.parent.mkdir()
        if n % 4 == 0:
            page.write_text("page")
        elif n % 4 == 1:
            page.mkdir()  # a folder of its name is no file
        elif n % 4 == 2:
            page.symlink_to(tmp_path / "0" / "index.html")  # as `os.path.isfile` takes it
        names.append(f"{n}/index.html")
    threads: set[str] = set()
    present = writer_module._present

    def noting(folder: str, relatives: list[str]) -> list[bool]:
        threads.add(threading.current_thread().name)
        return present(folder, relatives)

    monkeypatch.setattr(writer_module, "_present", noting)
    found, looks = _stops_at_each_look(lambda cancel: files_present(str(tmp_path), names, cancel))
    assert found == [os.path.isfile(tmp_path / name) for name in names]
    assert found.count(True) == 20
    looked_aside = any(name.startswith("broadsheet-lookup") for name in threads)
    assert looked_aside == slow
    # One look a batch: after the first four one after another, the others go two a
    # thread, and the build looks as each batch comes back.
    assert looks == (1 + 36 // 2 if slow else 40 // 4)
    assert files_present(str(tmp_path), []) == []


def test_a_linked_copy_equals_one_made_by_replace(tmp_path: Path) -> None:
    site_dir = _big_site(tmp_path / "site", count=6)
    config = load_config(site_dir)
    first, second = assemble_site(
        config, load_articles(site_dir, config.tz).articles
    ).site.articles[:2]
    links = {
        "topics": second.topics,
        "source": second.source,
        "related": second.related,
        "previous": Link("Older", "2020/01/01/older/"),
        "next": None,
        "more_from_topics": (Link("Other", "2020/01/02/other/"),),
    }
    copy = linked(first, **links)
    assert copy == replace(first, **links)
    assert (copy.path, copy.day_path) == (first.path, first.day_path)
    assert pickle.loads(pickle.dumps(copy)) == copy
    with pytest.raises(TypeError):
        linked(first, slug="elsewhere")  # type: ignore[call-arg]
    bodied = with_body(first, "<p>Another body.</p>")
    assert bodied == replace(first, body_html="<p>Another body.</p>")
    assert bodied.path == first.path and with_body(bodied, None) == replace(first, body_html=None)
    item = RelatedItem(
        "Elsewhere", "", None, "https://news.example/1", "", "", "story", None, None, ()
    )
    pointed = pointing_at(item, "2020/01/01/older/", "Older")
    assert pointed == replace(item, internal_path="2020/01/01/older/", internal_title="Older")
    assert pointed != item
    assert pickle.loads(pickle.dumps(pointed)) == pointed
    feeds = (FeedLink("AI (RSS)", "topics/ai/feed.xml", "application/rss+xml"),)
    page = article_page(first, feeds)
    assert page == Page(
        first.path, "article.html", "article", first.title, article=first, feeds=feeds
    )
    assert page.output_path == first.path + "index.html"


def test_a_remembered_cache_is_not_read_back_until_another_build_changes_it(
    tmp_path: Path,
) -> None:
    site = _big_site(tmp_path / "site", count=6)
    remembered = Session()
    assert build(site, BuildOptions(jobs=1), remembered).parsed == 6
    # Damage every entry on disk: a build trusting what it remembers does not notice.
    with sqlite3.connect(site / CACHE_DIR / "cache.sqlite") as db:
        db.execute("UPDATE batches SET results = x'00ff00ff'")
    (site / "content" / "a2.md").write_text(_article_text(2, 1))
    (site / "content" / "a4.md").unlink()
    report = build(site, BuildOptions(jobs=1), remembered)
    assert report.parsed == 1 and report.articles == 5
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)
    # Another process's build moves the cache on: the next one reads it again, and
    # finds the entries it had not rewritten still damaged.
    (site / "content" / "a1.md").write_text(_article_text(1, 1))
    assert build(site, BuildOptions(jobs=1)).parsed == 4
    with sqlite3.connect(site / CACHE_DIR / "cache.sqlite") as db:
        db.execute(
            "UPDATE batches SET results = x'00ff00ff'"
            " WHERE id = (SELECT batch FROM files WHERE path LIKE '%a3.md')"
        )
    (site / "content" / "a0.md").write_text(_article_text(0, 1))
    # a0, and the results parsed with a3 (a1, a3 and a5, after the last build) again
    assert build(site, BuildOptions(jobs=1), remembered).parsed == 4
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


def test_a_failed_build_forgets_what_it_remembered(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=3)
    session = Session()
    build(site, BuildOptions(jobs=1), session)
    assert session.cache.generation is not None and session.cache.files is not None
    assert session.articles and session.spelled
    (site / "templates").mkdir()
    (site / "templates" / "article.html").write_text("{% if %}")
    with pytest.raises(BuildError):
        build(site, BuildOptions(jobs=1), session)
    assert (session.cache.generation, session.cache.files, session.cache.pages) == (None,) * 3
    assert (session.articles, session.spelled) == ({}, [])


def test_a_session_takes_again_the_articles_whose_links_did_not_change(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site", count=12)
    session = Session()
    build(site, BuildOptions(jobs=1), session)
    before = dict(session.articles)
    (site / "content" / "a3.md").write_text(_article_text(3, 1))  # a new title, so a new path
    build(site, BuildOptions(jobs=1), session)
    after = session.articles
    moved = after["content/a3.md"].path
    pointing = {
        path
        for path, a in after.items()
        if moved in (link.path for link in (a.next, a.previous, *a.more_from_topics) if link)
    }
    taken_again = {path for path, a in after.items() if a is before[path]}
    assert pointing and taken_again == set(after) - pointing - {"content/a3.md"}
    assert {id(a) for a, _, _ in session.spelled} == {id(a) for a in after.values()}
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


class _CancelAt(threading.Event):
    """A `cancel` that reads as set from its `at`-th look on: the build stops at its
    `at`-th step."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.looks = at, 0

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks >= self.at


def _stops_at_each_look(step: Callable[[threading.Event], object]) -> tuple[object, int]:
    """What `step` gives with a cancel never set, and how often it looked at it; after
    checking that a cancel set from any of those looks on stops it."""
    looks = _CancelAt(10**9)
    made = step(looks)
    for at in range(1, looks.looks + 1):
        with pytest.raises(BuildCancelled):
            step(_CancelAt(at))
    return made, looks.looks


def _forty_articles_loaded(tmp_path: Path) -> tuple[Path, SiteConfig, tuple[Article, ...]]:
    """A site of 40 articles in `tmp_path`, its settings and its articles, loaded."""
    site_dir = _big_site(tmp_path / "site", count=40)
    config = load_config(site_dir)
    return site_dir, config, load_articles(site_dir, config.tz).articles


def test_assembling_looks_at_cancel_as_it_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Linking 100,000 articles takes 1.5 s: a save meanwhile need not wait for it.
    monkeypatch.setattr(site_module, "LINKED_BETWEEN_LOOKS", 4)
    _, config, articles = _forty_articles_loaded(tmp_path)
    _, looks = _stops_at_each_look(lambda cancel: assemble_site(config, articles, cancel=cancel))
    assert looks >= 40 // 4 + 2  # and after placing and naming


def test_planning_and_finding_files_look_at_cancel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Planning 136,000 pages takes a second, and finding 100,000 files two.
    monkeypatch.setattr(plan_module, "PLANNED_BETWEEN_LOOKS", 4)
    site_dir, config, articles = _forty_articles_loaded(tmp_path)
    site = assemble_site(config, articles).site
    pages, looks = _stops_at_each_look(lambda cancel: plan_pages(site, cancel=cancel))
    assert pages == plan_pages(site) and looks == -(-len(pages) // 4)
    for n in range(3):  # one look for each folder
        (site_dir / "content" / f"f{n}").mkdir()
    looks = _CancelAt(10**9)
    assert find_article_files(site_dir, looks) == find_article_files(site_dir)
    assert looks.looks == 4
    with pytest.raises(BuildCancelled):
        find_article_files(site_dir, _CancelAt(4))


def test_a_cancelled_build_leaves_the_session_fit_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled at any of its steps (the preview stops a build when a file is saved
    meanwhile), a session's build leaves the session for the next one to go on from:
    that build takes again every article it met before, and makes a clean build's site."""
    monkeypatch.setattr(site_module, "LINKED_BETWEEN_LOOKS", 2)  # steps while linking too
    monkeypatch.setattr(plan_module, "PLANNED_BETWEEN_LOOKS", 8)  # and planning
    site = _big_site(tmp_path / "site", count=8)
    edited = site / "content" / "a3.md"
    # Two new bodies in turn: the links of every article stay as they were.
    takes = [_article_text(3, 0).replace("version 0.", f"take {n}.") for n in (1, 2)]
    clean = []
    for text in takes:
        edited.write_text(text)
        clean.append(_clean_build(site / "content", tmp_path))
    edited.write_text(takes[0])
    session = Session()
    options = BuildOptions(jobs=1, keep_last_good=True)  # as the preview builds
    build(site, options, session)
    cancelled = 0
    for at in range(1, 500):
        edited.write_text(takes[at % 2])
        before = dict(session.articles)
        try:
            build(site, options, session, _CancelAt(at))
        except BuildCancelled:
            cancelled += 1
        else:
            break  # it ran past its last step
        assert session.filled
        build(site, options, session)
        new = {path for path, a in session.articles.items() if a is not before[path]}
        assert new == {"content/a3.md"}
        assert _tree(site / "output") == clean[at % 2]
    assert cancelled > 10  # a step for each batch of files, stage, page rendered and file copied


def test_a_session_follows_changes_to_templates_and_settings(tmp_path: Path) -> None:
    """The pages a session remembers were digested under the last build's templates and
    settings: a change to either shows on every page it touches, and a template's
    change on those alone."""
    site = _big_site(tmp_path / "site", count=6)
    session = Session()

    def clean() -> dict[str, bytes]:
        build(site, BuildOptions(jobs=1, cache=False, output_dir=tmp_path / "clean"))
        return _tree(tmp_path / "clean")

    (site / "templates").mkdir()
    page_404 = site / "templates" / "404.html"
    page_404.write_text("Gone: {{ page.title }}")  # reads nothing of the site
    build(site, BuildOptions(jobs=1), session)
    (site / "content" / "a2.md").write_text(_article_text(2, 1))
    build(site, BuildOptions(jobs=1), session)
    assert "404.html" in session.pages  # digested, not rendered: the session knows it
    page_404.write_text("Not here: {{ page.title }}")
    (site / "templates" / "article.html").write_text(
        '{% extends "theme/article.html" %}{% block description %}CHANGED{% endblock %}'
    )
    report = build(site, BuildOptions(jobs=1), session)
    assert report.rendered == 1 + 6  # the 404 page and the articles': no listing loads them
    assert _tree(site / "output") == clean()
    assert (site / "output" / "404.html").read_text() == "Not here: Page not found"
    (site / "site.yaml").write_text(SITE_YAML.replace("title:", "title: Renamed", 1))
    report = build(site, BuildOptions(jobs=1), session)
    assert report.rendered == report.pages
    assert _tree(site / "output") == clean()


THEME_TEMPLATES = Path(__file__).resolve().parents[1] / "themes" / "default" / "templates"


def _template_change_rendered(
    tmp_path: Path, change: Callable[[Path], None], remember: bool, jobs: int
) -> tuple[int, int, set[str]]:
    """Build a site, apply `change` (given the site's `templates/` folder), build again:
    how many pages that build rendered, how many pages the site has, and which files
    changed; the output must equal a clean build's."""
    site = _big_site(tmp_path / "site", count=6)
    (site / "templates").mkdir()
    session = Session() if remember else None
    build(site, BuildOptions(jobs=jobs), session)
    before = _tree(site / "output")
    change(site / "templates")
    report = build(site, BuildOptions(jobs=jobs), session)
    after = _tree(site / "output")
    clean = tmp_path / "clean"
    build(site, BuildOptions(jobs=1, cache=False, output_dir=clean))
    assert after == _tree(clean)
    changed = {path for path, data in after.items() if before.get(path) != data}
    return report.rendered, report.pages, changed


@pytest.mark.parametrize(("remember", "jobs"), [(False, 1), (False, 2), (True, 1)])
def test_a_template_change_renders_the_pages_that_load_that_template_alone(
    tmp_path: Path, remember: bool, jobs: int
) -> None:
    """An override of the articles' template renders the article pages again (and they
    change), not the listings, which never load it."""

    def change(templates: Path) -> None:
        (templates / "article.html").write_text(
            '{% extends "theme/article.html" %}{% block description %}NEW{% endblock %}'
        )

    rendered, pages, changed = _template_change_rendered(tmp_path, change, remember, jobs)
    assert rendered == 6 < pages
    assert len([p for p in changed if p.endswith("index.html")]) == 6


@pytest.mark.parametrize(("remember", "jobs"), [(False, 1), (False, 2), (True, 1)])
def test_a_change_to_a_template_others_import_renders_every_page_importing_it(
    tmp_path: Path, remember: bool, jobs: int
) -> None:
    """`partials/macros.html`, imported by every page but the 404 page, and extended
    from no template: an override of it with one macro changed."""
    macros = (THEME_TEMPLATES / "partials" / "macros.html").read_text(encoding="utf-8")
    assert "{% macro plural(" in macros

    def change(templates: Path) -> None:
        (templates / "partials").mkdir()
        changed = macros.replace("{% macro plural(", "{% macro plural_was(", 1)
        changed += "{% macro plural(n, word) %}{{ n }}*{{ word }}{% endmacro %}"
        (templates / "partials" / "macros.html").write_text(changed)

    rendered, pages, changed = _template_change_rendered(tmp_path, change, remember, jobs)
    assert rendered == pages - 1  # all but the 404 page
    assert "404.html" not in changed


def test_a_template_a_page_tried_to_include_renders_it_again_once_it_is_there(
    tmp_path: Path,
) -> None:
    """`ignore missing`: the name was looked up, found nothing, and counts all the same;
    so does a name holding a comma (the build cache joins what a page read with commas)."""
    site = _big_site(tmp_path / "site", count=3)
    templates = site / "templates"
    templates.mkdir()
    (templates / "404.html").write_text(
        '{% include "extra.html" ignore missing %}|{% include "a,b%2C.html" %}|{{ page.title }}'
    )
    (templates / "a,b%2C.html").write_text("comma")
    build(site, BuildOptions(jobs=1))
    assert (site / "output" / "404.html").read_text() == "|comma|Page not found"
    (templates / "extra.html").write_text("extra")
    assert build(site, BuildOptions(jobs=1)).rendered == 1
    assert (site / "output" / "404.html").read_text() == "extra|comma|Page not found"
    (templates / "a,b%2C.html").write_text("still a comma")
    assert build(site, BuildOptions(jobs=1)).rendered == 1
    assert (site / "output" / "404.html").read_text() == "extra|still a comma|Page not found"
    assert build(site, BuildOptions(jobs=1)).rendered == 0


def test_a_template_name_utf8_cannot_encode_counts_as_every_template(tmp_path: Path) -> None:
    """`"\\ud800.html"`: a name no file has, which the build cache could not store."""
    site = _big_site(tmp_path / "site", count=2)
    (site / "templates").mkdir()
    (site / "templates" / "404.html").write_text(
        '{% include "\\ud800.html" ignore missing %}{{ page.title }}'
    )
    first = build(site, BuildOptions(jobs=1))
    assert first.rendered == first.pages
    assert build(site, BuildOptions(jobs=1)).rendered == 0
    (site / "templates" / "other.html").write_text("a template no page loads")
    assert build(site, BuildOptions(jobs=1)).rendered == 1  # the 404 page
    assert (site / "output" / "404.html").read_text() == "Page not found"


@pytest.mark.parametrize("remember", [False, True])
def test_a_template_included_in_a_cached_block_counts_for_every_page_taking_the_block(
    tmp_path: Path, remember: bool
) -> None:
    """The first article page renders the block, loading `fragment.html`; the others take
    what it stored, and are noted as loading it too."""

    def change(templates: Path) -> None:
        (templates / "fragment.html").write_text("after")

    def first(site: Path) -> None:
        (site / "templates" / "fragment.html").write_text("before")
        (site / "templates" / "article.html").write_text(
            '{% extends "theme/article.html" %}{% block description %}'
            '{% cache "once" %}{% include "fragment.html" %}{% endcache %}{% endblock %}'
        )

    site = _big_site(tmp_path / "site", count=4)
    (site / "templates").mkdir()
    first(site)
    session = Session() if remember else None
    build(site, BuildOptions(jobs=1), session)
    change(site / "templates")
    assert build(site, BuildOptions(jobs=1), session).rendered == 4
    shown = [p.read_text() for p in (site / "output").glob("20*/*/*/*/index.html")]
    assert len(shown) == 4 and all("after" in page for page in shown)


def _template_variants(n: int) -> dict[str, tuple[str | None, ...]]:
    """Versions a site's own templates may take (None: the site has none of that name),
    the `n`th edit of each writing `n` into it."""
    macros = (THEME_TEMPLATES / "partials" / "macros.html").read_text(encoding="utf-8")
    plural = "{% macro plural(n, word) %}{{ n }} " + f"{n}" + "*{{ word }}{% endmacro %}"
    return {
        "404.html": (
            None,
            '{% extends "theme/404.html" %}{% block content %}' + f"gone {n}" + "{% endblock %}",
            '{% include "extra.html" ignore missing %}|{{ page.title }}',
        ),
        "extra.html": (None, f"extra {n}"),
        "partials/macros.html": (
            None,
            macros.replace("{% macro plural(", "{% macro plural_was(", 1) + plural,
        ),
        "article.html": (
            None,
            '{% extends "theme/article.html" %}{% block description %}'
            + f"said {n}"
            + "{% endblock %}",
            '{% extends "theme/article.html" %}{% block description %}'
            '{% cache "once" %}{% include "extra.html" ignore missing %}{% endcache %}'
            "{% endblock %}",
        ),
    }


TEMPLATE_EDITS = st.lists(
    st.tuples(st.sampled_from(["404.html", "extra.html", "partials/macros.html", "article.html"]),
              st.integers(0, 2)),
    min_size=1,
    max_size=3,
)  # fmt: skip


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(TEMPLATE_EDITS, min_size=1, max_size=3),
    remember=st.booleans(),
    jobs=st.sampled_from([1, 2]),
)
def test_any_sequence_of_template_edits_builds_like_a_clean_build(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    steps: list[list[tuple[str, int]]],
    remember: bool,
    jobs: int,
) -> None:
    """Site overrides written, changed and removed, one of them included only if it is
    there, one inside a `{% cache %}` block: after each build the output is a clean
    build's."""
    monkeypatch.setattr(build_module, "COMPARED_IN_WORKERS_FROM", 0)
    remembered = Session() if remember else None
    root = tmp_path / "example"
    shutil.rmtree(root, ignore_errors=True)
    site = _big_site(root / "site", count=4)
    templates = site / "templates"
    (templates / "partials").mkdir(parents=True)
    build(site, BuildOptions(jobs=jobs), remembered)
    for version, edits in enumerate(steps, start=1):
        for name, choice in edits:
            versions = _template_variants(version)[name]
            text = versions[choice % len(versions)]
            if text is None:
                (templates / name).unlink(missing_ok=True)
            else:
                (templates / name).write_text(text)
        build(site, BuildOptions(jobs=jobs), remembered)
        clean = root / "clean"
        shutil.rmtree(clean, ignore_errors=True)
        shutil.copytree(site, clean, ignore=shutil.ignore_patterns("output", CACHE_DIR))
        build(clean, BuildOptions(jobs=1, cache=False))
        assert _tree(site / "output") == _tree(clean / "output")


def test_a_template_digest_follows_the_file_its_name_leads_to(tmp_path: Path) -> None:
    """By whichever name the loader finds it: the site's own before the theme's, the
    theme's under `theme/`, and a file reached through a second link to its folder (the
    theme's folders are walked once each) by the digest of every template."""
    site = _big_site(tmp_path / "site", count=1)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "x.html").write_text("one")
    (site / "templates").mkdir()
    (site / "templates" / "a").symlink_to(shared)
    (site / "templates" / "b").symlink_to(shared)
    (site / "templates" / "article.html").write_text("own")
    theme = find_theme(site, "default")
    names = ("a/x.html", "b/x.html", "article.html", "theme/article.html", "nowhere.html")
    before = template_digests(theme)
    assert before.of("article.html") != before.of("theme/article.html")
    (shared / "x.html").write_text("two")
    after = template_digests(theme)
    assert [before.of(n) != after.of(n) for n in names] == [True, True, False, False, True]
    (site / "templates" / "article.html").unlink()
    gone = template_digests(theme)
    assert (
        gone.of("article.html") == gone.of("theme/article.html") == after.of("theme/article.html")
    )


def test_a_sessions_first_build_fills_it_even_when_the_output_is_up_to_date(
    tmp_path: Path,
) -> None:
    """So the preview's first edit finds everything in memory, as the next ones do."""
    site = _big_site(tmp_path / "site", count=8)
    build(site, BuildOptions(jobs=1))  # as a command would, before `serve` starts
    session = Session()
    first = build(site, BuildOptions(jobs=1), session)
    assert first.written is not None
    assert (first.parsed, first.rendered, first.written.written) == (0, 0, 0)
    assert session.filled and len(session.articles) == 8 and len(session.pages) == first.pages
    before = dict(session.articles)
    (site / "content" / "a5.md").write_text(_article_text(5, 0) + "\nOne more line.\n")
    assert build(site, BuildOptions(jobs=1), session).parsed == 1
    taken_again = {path for path, a in session.articles.items() if a is before[path]}
    assert taken_again == set(before) - {"content/a5.md"}  # a new body moves no link
    assert build(site, BuildOptions(jobs=1), session).rendered == 0
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


def test_a_session_learns_the_pages_its_workers_rendered(tmp_path: Path) -> None:
    site = _big_site(tmp_path / "site")
    session = Session()
    report = build(site, BuildOptions(jobs=2), session)  # cold: every page in a worker
    assert report.rendered == report.pages > 128
    assert set(session.pages) == {known.page.path for known in session.pages.values()}
    assert len(session.pages) == report.pages
    (site / "content" / "a7.md").write_text(_article_text(7, 1))
    build(site, BuildOptions(jobs=2), session)
    assert _tree(site / "output") == _clean_build(site / "content", tmp_path)


def _assembles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the builds that go past the up-to-date check (they assemble the site)."""
    calls: list[int] = []
    assemble = build_module.assemble_site

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return assemble(*args, **kwargs)

    monkeypatch.setattr(build_module, "assemble_site", counted)
    return calls


@pytest.mark.usefixtures("times_tell_changes")
def test_the_preview_takes_a_commands_build_as_up_to_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the output goes is named differently, and the preview would keep stale
    files: neither changes what a build without errors writes."""
    site = _big_site(tmp_path / "site", count=6)
    build(site, BuildOptions(jobs=1))
    assembled = _assembles(monkeypatch)
    preview = BuildOptions(output_dir=site / "output", keep_last_good=True, jobs=1)
    report = build(site, preview)
    assert assembled == [] and report.written is not None and report.written.written == 0
    assert report.pages > 6
    build(site, BuildOptions(output_dir=tmp_path / "elsewhere", jobs=1))
    assert assembled == [1]  # another output folder, not yet built: built
    assert _tree(tmp_path / "elsewhere") == _tree(site / "output")


@pytest.mark.usefixtures("times_tell_changes")
def test_a_build_that_kept_stale_files_is_not_taken_as_a_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _big_site(tmp_path / "site", count=6)
    build(site, BuildOptions(jobs=1))
    page = next((site / "output").glob("2024/*/*/story-3-v0/index.html"))
    (site / "content" / "a3.md").write_text("---\ntitle: [broken\n---\n")
    preview = BuildOptions(keep_last_good=True, jobs=1)
    assert build(site, preview).errors == 1 and page.is_file()  # kept
    assembled = _assembles(monkeypatch)
    assert build(site, preview).errors == 1 and assembled == []  # the same again
    assert build(site, BuildOptions(jobs=1)).errors == 1 and assembled == [1]
    assert not page.exists()  # a build that does not keep last good versions removes it
    assert build(site, BuildOptions(jobs=1)).errors == 1 and assembled == [1]  # as before
    assert build(site, preview).errors == 1 and assembled == [1, 1]
    assert page.is_file()  # the last good version, published again


def test_an_edit_its_file_times_cannot_tell_is_seen_by_the_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system keeping times to the second, a file written again within the
    second a build read it keeps its times, and its size if the text is as long: a
    file changed so lately is read again by the next build, however it looks."""
    site = _big_site(tmp_path / "site", count=3)
    later = time.time_ns() + 3_600 * 10**9  # one time for every change: no clock tells them
    real = build_module.find_article_files

    def coarse(site_dir: Path, cancel: threading.Event | None) -> tuple[ArticleFile, ...]:
        found = real(site_dir, cancel)
        return tuple(f._replace(mtime_ns=later, ctime_ns=later) for f in found)

    monkeypatch.setattr(build_module, "find_article_files", coarse)
    build(site, BuildOptions(jobs=1))
    text = (site / "content/a1.md").read_text()
    edited = text.replace("Story 1", "Story X")
    assert edited != text and len(edited) == len(text)
    (site / "content/a1.md").write_text(edited)
    again = build(site, BuildOptions(jobs=1))
    assert again.written is not None and again.written.written > 0
    assert "Story X" in (site / "output/index.html").read_text()
    assert build(site, BuildOptions(jobs=1)).parsed == 0  # the same bytes: not parsed again


def _built_just_after_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site built as if its articles had been written just before, however slow the
    machine: their times tell nothing (the theme's files keep their own times)."""
    monkeypatch.setattr(loader_module, "changed_lately", lambda *times: True)
    site = _big_site(tmp_path / "site", count=4)
    build(site, BuildOptions(jobs=1))
    return site


def test_files_just_written_are_checked_by_their_bytes_before_nothing_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _built_just_after_writing(tmp_path, monkeypatch)
    built = _tree(site / "output")
    assembled = _assembles(monkeypatch)
    for _ in range(2):
        report = build(site, BuildOptions(jobs=1))
        assert report.written is not None and report.written.written == 0
    assert assembled == [] and _tree(site / "output") == built  # their bytes were the same
    page = site / "content/a2.md"
    stat = page.stat()
    page.write_text(page.read_text().replace("Story 2", "Story Z"))  # as long
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    real = build_module.find_article_files

    def as_before(site_dir: Path, cancel: threading.Event | None) -> tuple[ArticleFile, ...]:
        return tuple(  # times kept to the second
            f._replace(ctime_ns=stat.st_ctime_ns) if f.shown == "content/a2.md" else f
            for f in real(site_dir, cancel)
        )

    monkeypatch.setattr(build_module, "find_article_files", as_before)
    build(site, BuildOptions(jobs=1))
    assert assembled == [1] and "Story Z" in (site / "output/index.html").read_text()


def _untrusted(site: Path) -> int:
    """Cached files whose size and times the cache does not trust (changed lately)."""
    with contextlib.closing(sqlite3.connect(site / CACHE_DIR / "cache.sqlite")) as db:
        (count,) = db.execute("SELECT count(*) FROM files WHERE mtime_ns = -1").fetchone()
    return int(count)


def test_a_build_with_nothing_to_do_trusts_the_times_of_files_it_checked_by_their_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _built_just_after_writing(tmp_path, monkeypatch)
    assert _untrusted(site) == 4
    monkeypatch.setattr(loader_module, "changed_lately", lambda *times: False)  # an hour later
    assembled = _assembles(monkeypatch)
    build(site, BuildOptions(jobs=1))
    assert assembled == [] and _untrusted(site) == 0  # the next build reads none again
    with contextlib.closing(sqlite3.connect(site / CACHE_DIR / "cache.sqlite")) as db:
        (record,) = db.execute("SELECT value FROM builds WHERE key = 'last'").fetchone()
    assert pickle.loads(record).unsettled == ()  # nor checks their bytes again


def test_static_files_changed_lately_are_not_taken_as_unchanged(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site({"content/a.md": article(), "static/site.css": "p { color: red }"})
    theme = find_theme(site, "default")
    assert static_signature(theme) != static_signature(theme)  # just written: untrusted
    monkeypatch.setattr("generator.cache.CHANGED_LATELY_NS", 0)
    assert static_signature(theme) == static_signature(theme)


def _opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the files opened from now on, by any of Python's ways to open one."""
    opened: list[str] = []
    for module in (os, builtins, io):
        real = module.open

        def recording(path: Any, *args: Any, real: Any = real, **kwargs: Any) -> Any:
            opened.append(str(path))
            return real(path, *args, **kwargs)

        monkeypatch.setattr(module, "open", recording)
    return opened


def _static_site(make_site: MakeSite, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A site with two static files, built; the times of its files are trusted (as they
    are once a few seconds have passed since they changed)."""
    monkeypatch.setattr("generator.cache.CHANGED_LATELY_NS", 0)
    site = make_site(
        {
            "content/a.md": article(),
            "static/site.css": "p { color: red }",
            "static/img/logo.svg": "<svg/>",
        }
    )
    build(site, BuildOptions(jobs=1))
    return site


def _add_article(site: Path, name: str) -> None:
    """An article more, so that the next build has work to do."""
    (site / "content" / name).write_text(article(name, "2024-05-02T09:00:00Z"))


def test_a_static_file_unchanged_since_the_last_build_is_not_read_again(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _static_site(make_site, monkeypatch)
    _add_article(site, "b.md")
    (site / "output/static/img/logo.svg").unlink()  # its copy is gone: copied again
    opened = _opened(monkeypatch)
    report = build(site, BuildOptions(jobs=1))
    assert report.written is not None and report.written.written > 1
    assert [p for p in opened if p.endswith("site.css")] == []  # neither source nor copy
    assert (site / "output/static/site.css").read_text() == "p { color: red }"
    assert (site / "output/static/img/logo.svg").read_text() == "<svg/>"


def test_a_static_file_changed_with_its_size_kept_is_published_again(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _static_site(make_site, monkeypatch)
    css = site / "static/site.css"
    before = css.stat()
    css.write_text("p { color: tan }")  # as long
    os.utime(css, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))  # however coarse
    opened = _opened(monkeypatch)
    build(site, BuildOptions(jobs=1))
    assert (site / "output/static/site.css").read_text() == "p { color: tan }"
    assert [p for p in opened if p.endswith("logo.svg")] == []


def test_a_static_file_rewritten_with_its_old_size_and_time_is_published_again(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for an article file: its change time tells that it changed."""
    site = _static_site(make_site, monkeypatch)
    css = site / "static/site.css"
    before = css.stat()
    replacement = site / "site.css.new"
    replacement.write_text("p { color: tan }")
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `touch -r` does
    replacement.rename(css)  # as `cp -p` puts a file in place
    after = css.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    opened = _opened(monkeypatch)
    build(site, BuildOptions(jobs=1))
    assert (site / "output/static/site.css").read_text() == "p { color: tan }"
    assert [p for p in opened if p.endswith("logo.svg")] == []


def test_a_static_file_changed_lately_is_read_by_the_next_build_and_then_trusted(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("generator.cache.CHANGED_LATELY_NS", 10**18)  # just written, all
    site = make_site({"content/a.md": article(), "static/site.css": "p { color: red }"})
    build(site, BuildOptions(jobs=1))
    monkeypatch.setattr("generator.cache.CHANGED_LATELY_NS", 0)  # a while later
    _add_article(site, "b.md")
    opened = _opened(monkeypatch)
    build(site, BuildOptions(jobs=1))
    assert str(site / "static/site.css") in opened  # its times told nothing: read
    _add_article(site, "c.md")
    opened.clear()
    report = build(site, BuildOptions(jobs=1))
    assert report.written is not None and report.written.written > 0
    assert [p for p in opened if p.endswith("site.css")] == []
    assert (site / "output/static/site.css").read_text() == "p { color: red }"


class _FillingDisk(sqlite3.Connection):
    """A connection to a database whose disk is full for the statements starting with
    one of `refused`: they fail as SQLite's do."""

    refused: tuple[str, ...] = ()

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._check(sql)
        return super().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._check(sql)
        return super().executemany(sql, *args)

    def _check(self, sql: str) -> None:
        if sql.lstrip().startswith(self.refused):
            raise sqlite3.OperationalError("database or disk is full")


def _filling(monkeypatch: pytest.MonkeyPatch, *refused: str) -> None:
    real = sqlite3.connect
    monkeypatch.setattr(_FillingDisk, "refused", refused)
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real(*a, factory=_FillingDisk, **k))


def test_a_cache_that_cannot_be_written_stops_the_build_before_the_site_is_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _big_site(tmp_path / "site", count=5)
    build(site, BuildOptions(jobs=1))
    before = _tree(site / "output")
    (site / "content/a1.md").write_text(_article_text(1, 1))
    _filling(monkeypatch, "INSERT")
    with pytest.raises(BuildError) as raised:
        build(site, BuildOptions(jobs=1))
    assert [str(d) for d in raised.value.diagnostics] == [
        f"{CACHE_DIR}: error: the build cache cannot be written (database or disk is full); "
        f"free some space or fix the folder's permissions (deleting {CACHE_DIR}/ is safe)"
    ]
    assert _tree(site / "output") == before
    monkeypatch.setattr(_FillingDisk, "refused", ())
    assert build(site, BuildOptions(jobs=1)).diagnostics == ()
    assert "Story 1 v1" in (site / "output/index.html").read_text()


def test_a_site_built_whose_cache_then_cannot_be_written_is_kept_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _big_site(tmp_path / "site", count=5)
    build(site, BuildOptions(jobs=1))
    (site / "content/a1.md").write_text(_article_text(1, 1))
    # What the build stores once its site is written (not the parse results before).
    _filling(monkeypatch, "INSERT OR REPLACE INTO pages", "INSERT INTO builds VALUES ('last', ")
    report = build(site, BuildOptions(jobs=1))
    assert [str(d) for d in report.diagnostics] == [
        f"{CACHE_DIR}: warning: cache not updated: database or disk is full; the next build "
        "will redo some work"
    ]
    built = _tree(site / "output")
    assert "Story 1 v1" in (site / "output/index.html").read_text()
    monkeypatch.setattr(_FillingDisk, "refused", ())
    again = build(site, BuildOptions(jobs=1))
    assert again.diagnostics == () and _tree(site / "output") == built
    clean = build(site, BuildOptions(output_dir=tmp_path / "clean", jobs=1, cache=False))
    assert clean.errors == 0 and _tree(tmp_path / "clean") == built
