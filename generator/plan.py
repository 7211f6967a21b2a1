"""The page plan: every HTML page of the site, as `Page` values, before rendering.

Owns the URL layout of listings and pagination and the check that no two outputs
share a path. Pure: the plan is a function of the `Site` alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from generator.diagnostics import BuildError, error
from generator.model import Archive, Article, FeedLink, Group, Page, Pager, Site


def paginate(
    base: str, items: tuple[Article, ...], per_page: int
) -> tuple[tuple[str, tuple[Article, ...], Pager], ...]:
    """Split a listing into pages: `base` is page 1, `base + "page/N/"` the rest."""
    count = max(1, -(-len(items) // per_page))
    paths = tuple(base if n == 1 else f"{base}page/{n}/" for n in range(1, count + 1))
    return tuple(
        (paths[n], items[n * per_page : (n + 1) * per_page], Pager(n + 1, count, paths))
        for n in range(count)
    )


def _listing(
    base: str,
    template: str,
    kind: str,
    title: str,
    items: tuple[Article, ...],
    per_page: int,
    feeds: tuple[FeedLink, ...] = (),
    group: Group | None = None,
    archive: Archive | None = None,
) -> Iterable[Page]:
    for path, chunk, pager in paginate(base, items, per_page):
        shown = title if pager.number == 1 else f"{title} (page {pager.number})"
        yield Page(
            path,
            template,
            kind,
            shown,
            group=group,
            archive=archive,
            items=chunk,
            pager=pager,
            feeds=feeds,
        )


def _group_pages(groups: tuple[Group, ...], per_page: int) -> Iterable[Page]:
    for group in groups:
        feed = FeedLink(f"{group.name} (RSS)", group.feed_path, "application/rss+xml")
        yield from _listing(
            group.path,
            f"{group.kind}.html",
            group.kind,
            group.name,
            group.articles,
            per_page,
            (feed,),
            group=group,
        )


def _archive_pages(archives: tuple[Archive, ...], per_page: int) -> Iterable[Page]:
    for archive in archives:
        yield from _listing(
            archive.path,
            "period.html",
            archive.kind,
            archive.name,
            archive.articles,
            per_page,
            archive=archive,
        )
        yield from _archive_pages(archive.children, per_page)


def plan_pages(site: Site) -> tuple[Page, ...]:
    """Every HTML page, in a stable order; `BuildError` if two share an output path."""
    per_page = site.config.per_page
    pages: list[Page] = [
        *_listing("", "home.html", "home", site.config.title, site.articles, per_page),
        *(
            Page(
                a.path,
                "article.html",
                "article",
                a.title,
                article=a,
                feeds=tuple(
                    FeedLink(f"{t.name} (RSS)", f"topics/{t.slug}/feed.xml", "application/rss+xml")
                    for t in a.topics
                ),
            )
            for a in site.articles
        ),
        Page("topics/", "topics.html", "topics", "Topics"),
        *_group_pages(site.topics, per_page),
        Page("sources/", "sources.html", "sources", "Sources"),
        *_group_pages(site.sources, per_page),
        Page("archive/", "archive.html", "archive", "Archive"),
        *_archive_pages(site.years, per_page),
        Page("404.html", "404.html", "404", "Page not found"),
    ]
    check_unique_paths(p.output_path for p in pages)
    return tuple(pages)


def check_unique_paths(paths: Iterable[str]) -> None:
    """Raise `BuildError` naming every output path claimed twice."""
    counts = Counter(paths)
    clashes = sorted(path for path, n in counts.items() if n > 1)
    if clashes:
        raise BuildError(
            tuple(
                error(path, None, f"{counts[path]} outputs would be written to this path")
                for path in clashes
            )
        )
