"""The loader: finds article files under `content/` and turns each into an `Article`.

Owns which files count as articles and the read -> decode -> split -> validate
steps for one file. The only stage that reads `content/`; it never writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path

from generator.diagnostics import Diagnostic, error, warning
from generator.frontmatter import FrontMatterError, decode, split
from generator.markup import render_markdown
from generator.model import Article
from generator.schema import parse_article

CONTENT_DIR = "content"
EXTENSIONS = frozenset({".md", ".markdown", ".txt"})


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the loader found: the articles it accepted and every problem, in file order."""

    articles: tuple[Article, ...]
    diagnostics: tuple[Diagnostic, ...]
    files: int


def find_article_files(site_dir: Path) -> tuple[tuple[Path, str], ...]:
    """Every article file as (absolute path, display path), sorted by display path."""
    content = site_dir / CONTENT_DIR
    found: list[tuple[Path, str]] = []
    for folder, dirs, files in os.walk(content):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in files:
            path = Path(folder) / name
            if name.startswith((".", "_")) or path.suffix.lower() not in EXTENSIONS:
                continue
            found.append((path, path.relative_to(site_dir).as_posix()))
    return tuple(sorted(found, key=lambda item: item[1]))


def load_file(
    path: Path, shown: str, site_dir: Path, tz: tzinfo
) -> tuple[Article | None, tuple[Diagnostic, ...]]:
    """Read and validate one article file."""
    if path.is_symlink() and not path.resolve().is_relative_to(site_dir.resolve()):
        return None, (warning(shown, None, "skipped: a symlink pointing outside the site"),)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, (error(shown, None, f"cannot read: {exc.strerror}"),)
    try:
        front = split(decode(raw))
    except FrontMatterError as exc:
        return None, (error(shown, exc.line, exc.message),)
    return parse_article(front, shown, path.stem, tz, render_markdown(front.body))


def load_articles(site_dir: Path, tz: tzinfo) -> Loaded:
    """Load every article under `site_dir/content`; bad files become diagnostics."""
    files = find_article_files(site_dir)
    articles: list[Article] = []
    diagnostics: list[Diagnostic] = []
    for path, shown in files:
        article, problems = load_file(path, shown, site_dir, tz)
        diagnostics.extend(problems)
        if article is not None:
            articles.append(article)
    return Loaded(tuple(articles), tuple(diagnostics), len(files))
