"""The preview writes an edited article's own page ahead of the build the edit sets off,
where that page will be what the build writes but for what it shows of other
articles: then the build brings those up to date, and the site is what a clean build
makes of the content."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from conftest import SITE_YAML, article
from generator import BuildOptions, build
from generator.builder import Session, built_as_they_are, write_edited_first
from generator.writer import MANIFEST

PAGE = "2024/05/02/story/index.html"
OPTIONS = BuildOptions(jobs=1, keep_last_good=True)

STORY = dict(
    slug="story",
    topics="[Rail, Energy]",
    provider="{name: The Herald, domain: herald.example}",
    webUrl="https://herald.example/story",
    related="[{title: Elsewhere, webUrl: 'https://other.example/x'}]",
)


def _story(
    title: str = "The old headline",
    body: str = "The old body.",
    date: str = "2024-05-02T08:00:00Z",
    **changed: str,
) -> str:
    return article(title, date, body, **{**STORY, **changed})


def _site(tmp_path: Path) -> tuple[Path, Session]:
    """A small site around the story, built by a preview's session."""
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "site.yaml").write_text(SITE_YAML)
    (site / "content/story.md").write_text(_story())
    (site / "content/older.md").write_text(
        article("An older one", "2024-05-01T08:00:00Z", topics="[Rail]")
    )
    (site / "content/newer.md").write_text(
        article(
            "A newer one",
            "2024-05-03T08:00:00Z",
            topics="[Energy]",
            related="[{webUrl: 'https://herald.example/story'}]",
        )
    )
    session = Session()
    build(site, OPTIONS, session)
    return site, session


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".broadsheet-lock"
    }


def _clean_build(site: Path, tmp_path: Path) -> dict[str, bytes]:
    clean = tmp_path / "clean"
    shutil.copytree(site, clean, ignore=shutil.ignore_patterns("output", ".broadsheet-cache"))
    build(clean, BuildOptions(jobs=1, cache=False))
    return {k: v for k, v in _tree(clean / "output").items() if not k.startswith(".")}


def test_the_edited_page_is_written_first_and_its_build_then_makes_the_site_a_clean_one(
    tmp_path: Path,
) -> None:
    site, session = _site(tmp_path)
    output = site / "output"
    (site / "content/story.md").write_text(_story("The new headline", "The new body."))
    written = write_edited_first(site, [site / "content/story.md"], session)
    assert written is not None
    assert (written.written, written.changed) == (1, (PAGE,))
    page = (output / PAGE).read_text("utf-8")
    assert "The new headline" in page and "The new body." in page
    assert "An older one" in page and "A newer one" in page  # its links, as they were
    assert "The old headline" in (output / "index.html").read_text("utf-8")  # until built
    listed = dict(
        reversed(line.split(" ", 1)) for line in (output / MANIFEST).read_text().splitlines()
    )
    assert listed[PAGE] == hashlib.sha256((output / PAGE).read_bytes()).hexdigest()

    report = build(site, OPTIONS, session)
    assert report.written is not None
    assert PAGE not in report.written.changed  # written already, as the build makes it
    assert "index.html" in report.written.changed
    newer = (output / "2024/05/03/a-newer-one/index.html").read_text("utf-8")
    assert "The new headline" in newer  # its related item has no title: it shows ours
    assert {k: v for k, v in _tree(output).items() if not k.startswith(".")} == _clean_build(
        site, tmp_path
    )


@pytest.mark.parametrize(
    "edited",
    [
        pytest.param(_story(slug="a-new-address"), id="address"),
        pytest.param(article("The old headline", "2024-05-02T08:00:00Z", "Body."), id="no slug"),
        pytest.param(_story(date="2024-05-02T09:00:00Z"), id="date"),
        pytest.param(_story(topics="[Rail]"), id="topics"),
        pytest.param(_story(provider="{name: The Courier, domain: courier.example}"), id="source"),
        pytest.param(_story(webUrl="https://herald.example/moved"), id="address given"),
        pytest.param(_story(related="[]"), id="related"),
        pytest.param(_story(draft="true"), id="draft"),
        pytest.param(_story(quality='"very"'), id="error"),
    ],
)
def test_an_edit_that_moves_or_relinks_the_article_waits_for_its_build(
    tmp_path: Path, edited: str
) -> None:
    site, session = _site(tmp_path)
    before = _tree(site / "output")
    (site / "content/story.md").write_text(edited.replace("The old body.", "A new body."))
    assert write_edited_first(site, [site / "content/story.md"], session) is None
    assert _tree(site / "output") == before


def test_only_edits_of_articles_the_last_build_published_are_written_first(
    tmp_path: Path,
) -> None:
    site, session = _site(tmp_path)
    story = site / "content/story.md"
    story.write_text(_story("The new headline"))
    new = site / "content/new.md"
    new.write_text(article("A new one", "2024-05-04"))
    for paths in ([story, new], [site / "site.yaml"], [site / "content"]):
        assert write_edited_first(site, paths, session) is None, paths
    assert write_edited_first(site, [story], Session()) is None  # nothing built
    gone = site / "content/.story.md.swp"  # an editor's file, gone by now: passed over
    assert write_edited_first(site, [gone, story], session) is not None
    assert write_edited_first(site, [story], session) is None  # written already


def test_files_are_built_as_they_are_only_as_articles_the_last_build_read_in_these_bytes(
    tmp_path: Path,
) -> None:
    site, session = _site(tmp_path)
    story = site / "content/story.md"
    assert built_as_they_are(site, [story], session)
    story.write_bytes(story.read_bytes())  # saved again as it was
    assert built_as_they_are(site, [story], session)
    assert not built_as_they_are(site, [story], Session())  # nothing built
    new = site / "content/new.md"
    new.write_text(article("A new one", "2024-05-04"))
    gone = site / "content/.story.md.swp"
    for paths in ([story, new], [site / "site.yaml"], [site / "content"], [gone, story]):
        assert not built_as_they_are(site, paths, session), paths
    story.write_text(_story("The new headline"))
    assert not built_as_they_are(site, [story], session)
    story.unlink()
    assert not built_as_they_are(site, [story], session)
