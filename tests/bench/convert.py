"""The same synthetic articles as Hugo and Pelican sites, for comparison builds.

Owns the translation of `synth.SynthArticle` into each tool's content format and the
site configuration that makes both do comparable work: one page per article,
paginated home and taxonomy pages (20 per page; topics are tags, sources are
categories), RSS feeds of 50 items for the site and each topic and source. Bodies are
the identical Markdown. It writes only into the folder it is given (a temporary one
chosen by the runner), never into the repository.

Usage: `python tests/bench/convert.py N DIR` writes `DIR/hugo/` and `DIR/pelican/`.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from synth import DEFAULT_SEED, SynthArticle, iter_articles

HUGO_LAYOUTS = Path(__file__).resolve().parent / "hugo_layouts"

HUGO_CONFIG = """\
baseURL = "https://bench.example/"
title = "Broadsheet Benchmark"
locale = "en"
timeZone = "Europe/Berlin"
# No /posts/ section page: Broadsheet has no such listing.
disableKinds = ["section"]

[params]
description = "Synthetic articles for measuring build speed."

[pagination]
pagerSize = 20

[taxonomies]
tag = "tags"
category = "categories"

[services.rss]
limit = 50

[permalinks.page]
posts = "/:year/:month/:day/:slug/"
"""

PELICAN_CONFIG = """\
# Comparison build for the Broadsheet benchmark: default theme, no caching,
# pagination 20, RSS/Atom for the site and RSS for every tag and category.
SITENAME = "Broadsheet Benchmark"
SITEURL = "https://bench.example"
PATH = "content"
TIMEZONE = "Europe/Berlin"
DEFAULT_LANG = "en"
RELATIVE_URLS = False
DEFAULT_PAGINATION = 20

FEED_DOMAIN = SITEURL
FEED_MAX_ITEMS = 50
FEED_ALL_RSS = "feeds/all.rss.xml"
FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_RSS = "feeds/category/{slug}.rss.xml"
CATEGORY_FEED_ATOM = None
TAG_FEED_RSS = "feeds/tag/{slug}.rss.xml"
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

ARTICLE_URL = "{date:%Y}/{date:%m}/{date:%d}/{slug}/"
ARTICLE_SAVE_AS = "{date:%Y}/{date:%m}/{date:%d}/{slug}/index.html"
YEAR_ARCHIVE_SAVE_AS = "{date:%Y}/index.html"
MONTH_ARCHIVE_SAVE_AS = "{date:%Y}/{date:%m}/index.html"
DAY_ARCHIVE_SAVE_AS = "{date:%Y}/{date:%m}/{date:%d}/index.html"

# Give C++, C# and .NET their own tag pages (the default rule maps all to "c"/"net").
TAG_REGEX_SUBSTITUTIONS = [
    (r"\\+", "-plus"),
    (r"#", "-sharp"),
    (r"\\A\\.", "dot"),
    (r"[^\\w\\s-]", ""),
    (r"(?u)\\A\\s*", ""),
    (r"(?u)\\s*\\Z", ""),
    (r"[-\\s]+", "-"),
]

CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
DELETE_OUTPUT_DIRECTORY = False
"""


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _ts(article: SynthArticle) -> str:
    return article.published.strftime("%Y-%m-%dT%H:%M:%SZ")


def _unique_slug(article: SynthArticle) -> str:
    return f"{article.slug}-{article.index}"


def hugo_article(article: SynthArticle) -> str:
    """`content/posts/*.md`: YAML front matter (title, date, tags, categories = source)."""
    lines = [
        "---",
        f"title: {_q(article.title)}",
        f"date: {_ts(article)}",
        f"slug: {_q(_unique_slug(article))}",
        f"tags: {json.dumps(list(article.topics), ensure_ascii=False)}",
        f"categories: [{_q(article.source.name)}]",
        f"originalUrl: {_q(article.web_url)}",
    ]
    if article.excerpt is not None:
        lines.append(f"description: {_q(article.excerpt)}")
    if article.images:
        lines.append("images:")
        lines += [
            f"  - {{url: {_q(i.url)}, width: {i.width}, height: {i.height}}}"
            for i in article.images
        ]
    if article.related:
        lines.append("related:")
        for item in article.related:
            lines += [
                f"  - title: {_q(item.title)}",
                f"    url: {_q(item.web_url)}",
                f"    source: {_q(item.source.name)}",
                f"    excerpt: {_q(item.excerpt)}",
            ]
    lines += ["---", article.body]
    return "\n".join(lines)


def pelican_article(article: SynthArticle) -> str:
    """`content/*.md` with Pelican's Markdown metadata header."""
    lines = [
        f"Title: {article.title}",
        f"Date: {_ts(article)}",
        f"Category: {article.source.name}",
        f"Slug: {_unique_slug(article)}",
    ]
    if article.topics:
        lines.append(f"Tags: {', '.join(article.topics)}")
    if article.excerpt is not None:
        lines.append(f"Summary: {article.excerpt}")
    lines += ["", article.body]
    return "\n".join(lines)


def write_hugo_site(articles: Iterable[SynthArticle], site_dir: Path) -> None:
    posts = site_dir / "content" / "posts"
    posts.mkdir(parents=True, exist_ok=True)
    (site_dir / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    shutil.copytree(HUGO_LAYOUTS, site_dir / "layouts", dirs_exist_ok=True)
    for article in articles:
        path = posts / f"{_unique_slug(article)}.md"
        path.write_text(hugo_article(article), encoding="utf-8", newline="\n")


def write_pelican_site(articles: Iterable[SynthArticle], site_dir: Path) -> None:
    content = site_dir / "content"
    content.mkdir(parents=True, exist_ok=True)
    (site_dir / "pelicanconf.py").write_text(PELICAN_CONFIG, encoding="utf-8")
    for article in articles:
        path = content / f"{_unique_slug(article)}.md"
        path.write_text(pelican_article(article), encoding="utf-8", newline="\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write synthetic Hugo and Pelican sites.")
    parser.add_argument("n", type=int, help="number of articles")
    parser.add_argument("dir", type=Path, help="folder to create hugo/ and pelican/ in")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    articles = list(iter_articles(args.n, args.seed))
    write_hugo_site(articles, args.dir / "hugo")
    write_pelican_site(articles, args.dir / "pelican")
    print(f"wrote {len(articles)} articles to {args.dir / 'hugo'} and {args.dir / 'pelican'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
