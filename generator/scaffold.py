"""Scaffolding: the files `broadsheet init` and `broadsheet new` create.

Owns the starter site and the new-article template. Writes only inside the site
folder it is given and never overwrites an existing file.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from generator.loader import CONTENT_DIR
from generator.slugs import slugify


class ScaffoldError(Exception):
    """A file to be created exists already, or cannot be written."""


def _create(path: Path, text: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ScaffoldError(f"{path} exists already; not overwriting it") from None
    except OSError as exc:
        raise ScaffoldError(f"{path}: cannot write: {exc.strerror}") from None
    return path


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def article_text(title: str, moment: datetime, topics: tuple[str, ...], body: str = "") -> str:
    lines = [
        "---",
        f"title: {_quoted(title)}",
        f"publishedDateTime: {moment.isoformat(timespec='seconds')}",
    ]
    if topics:
        lines.append("topics:")
        lines.extend(f"  - {_quoted(t)}" for t in topics)
    lines += ["---", ""]
    return "\n".join(lines) + body


def _one_line(text: str) -> str:
    """The text without control characters, its runs of white space made one space: what
    a title typed or pasted on a command line means."""
    kept = "".join(c for c in text if c.isspace() or unicodedata.category(c) != "Cc")
    return " ".join(kept.split())


def new_article(site_dir: Path, title: str, topics: tuple[str, ...], now: datetime) -> Path:
    """Create `content/YYYY/YYYY-MM-DD-slug.md` for a new article dated `now` (its title
    and topics on one line each, without control characters)."""
    title, topics = _one_line(title), tuple(_one_line(t) for t in topics)
    name = f"{now:%Y-%m-%d}-{slugify(title)}.md"
    return _create(site_dir / CONTENT_DIR / f"{now:%Y}" / name, article_text(title, now, topics))


_SITE_YAML = """\
title: {title}
description: News, gathered and published with Broadsheet.
base_url: https://example.org/
language: en
timezone: UTC
per_page: 20
feeds:
  items: 50
  full_content: false
"""

_WELCOME = """\
This site was made by `broadsheet init`. Each article is a file in `content/`:
YAML front matter between `---` lines, then an optional Markdown body.

- Add an article with `broadsheet new "A headline"`.
- Build the site with `broadsheet build`.
"""


SCAFFOLD_ZONE = UTC
"""The time zone of a new site's `site.yaml`, in which its sample articles are dated."""


def init_site(site_dir: Path, now: datetime) -> tuple[Path, ...]:
    """Create a new site in `site_dir`: `site.yaml` and two sample articles, dated `now`
    in the site's time zone."""
    now = now.astimezone(SCAFFOLD_ZONE)
    if site_dir.exists() and not site_dir.is_dir():
        raise ScaffoldError(f"{site_dir} is a file; give a folder for the new site")
    if (site_dir / "site.yaml").exists():
        raise ScaffoldError(f"{site_dir / 'site.yaml'} exists already; not overwriting it")
    site_yaml = _SITE_YAML.format(title=_quoted(site_dir.name or "News"))
    created = [_create(site_dir / "site.yaml", site_yaml)]
    created.append(
        _create(
            site_dir / CONTENT_DIR / f"{now:%Y-%m-%d}-welcome.md",
            article_text("Welcome to your news site", now, ("Site news",), _WELCOME),
        )
    )
    created.append(
        _create(
            site_dir / CONTENT_DIR / f"{now:%Y-%m-%d}-a-first-story.md",
            article_text("A first story, with no body", now, ("Site news", "Examples")),
        )
    )
    return tuple(created)
