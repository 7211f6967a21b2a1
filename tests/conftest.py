"""Shared fixtures: small sites built from a dict of `path -> text` in a temporary folder."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import BuildOptions, BuildReport, build

REPO = Path(__file__).resolve().parent.parent

SITE_YAML = """\
title: Test Times
description: A site for tests.
base_url: https://test.example/
timezone: UTC
per_page: 3
"""


def article(
    title: str = "A headline",
    date: str = "2024-05-01T09:30:00Z",
    body: str = "",
    **fields: str,
) -> str:
    """Text of an article file; extra fields are written as raw YAML lines `key: value`."""
    lines = ["---", f'title: "{title}"', f"publishedDateTime: {date}"]
    lines += [f"{key}: {value}" for key, value in fields.items()]
    return "\n".join([*lines, "---", body])


FULL_ARTICLE = REPO / "tests" / "fixtures" / "full_article.txt"


def build_example(target: Path, with_full_article: bool = False) -> Path:
    """Copy the repository's example site into `target` (plus, if asked, the article
    that has every key of the format) and build it; returns the output folder."""
    for name in ("site.yaml", "content", "static"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        elif source.is_file():
            shutil.copy(source, target / name)
    if with_full_article:
        shutil.copy(FULL_ARTICLE, target / "content" / "zz-full.txt")
    report = build(target, BuildOptions())
    assert report.errors == 0, [str(d) for d in report.diagnostics]
    return target / "output"


MakeSite = Callable[[dict[str, str]], Path]


@pytest.fixture
def make_site(tmp_path: Path) -> MakeSite:
    """Write a site folder: `files` maps a relative path to its text (dedented).

    `site.yaml` defaults to `SITE_YAML` unless `files` names one.
    """

    def make(files: dict[str, str]) -> Path:
        site = tmp_path / "site"
        all_files = {"site.yaml": SITE_YAML, **files}
        for relative, text in all_files.items():
            path = site / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return site

    return make


BuildSite = Callable[..., BuildReport]


@pytest.fixture
def build_site() -> BuildSite:
    """Build a site folder into its `output/`, with `BuildOptions` given as keywords."""

    def run(site: Path, **options: object) -> BuildReport:
        return build(site, BuildOptions(**options))  # type: ignore[arg-type]

    return run


@pytest.fixture
def times_tell_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files' sizes and times are trusted to tell every change, however lately it was
    made (as on a file system keeping times to the nanosecond): a build soon after
    another may find nothing to do."""
    monkeypatch.setattr("generator.cache.CHANGED_LATELY_NS", 0)
