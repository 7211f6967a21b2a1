"""The page plan: every HTML page of the site, as `Page` values, before rendering.

Owns the URL layout of listings and their pagination, and the check that no two
outputs share a path. Pure: the plan is a function of the `Site` alone (a previous
plan's page may be taken again, only where it equals the one that would be made).

Listing pages are numbered from the oldest article (`page/1/` holds the oldest), so
adding an article changes only the listing's latest page (its own URL, which shows
the newest articles) and at most one numbered page — never the whole archive.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

from generator.diagnostics import BuildError, error, stop_if_cancelled
from generator.model import (
    Archive,
    Article,
    FeedLink,
    Group,
    Page,
    Pager,
    PeriodLink,
    Section,
    Site,
    Term,
    article_page,
)

PLANNED_BETWEEN_LOOKS = 8_192
"""Pages planned between two looks at whether the build was cancelled."""


def paginate(
    base: str, items: tuple[Article, ...], per_page: int
) -> tuple[tuple[str, tuple[Article, ...], Pager], ...]:
    """Pages of a listing given newest first: the latest page at `base` with the newest
    `per_page` items, then `base + "page/N/"` for every older full-or-partial chunk
    counted from the oldest, excluding the newest chunk (the latest page shows it)."""
    count = max(1, -(-len(items) // per_page))

    def path(number: int) -> str:
        return base if number == count else f"{base}page/{number}/"

    def chunk(number: int) -> tuple[Article, ...]:
        # Chunk N holds the oldest-first items (N-1)*per_page .. N*per_page-1.
        stop = len(items) - (number - 1) * per_page
        return items[max(0, stop - per_page) : stop]

    latest = Pager(count, True, base, None, path(count - 1) if count > 1 else None, count)
    pages = [(base, items[:per_page], latest)]
    for number in range(count - 1, 0, -1):
        pager = Pager(
            number, False, base, path(number + 1), path(number - 1) if number > 1 else None
        )
        pages.append((path(number), chunk(number), pager))
    return tuple(pages)


def _listing(
    section: Section, template: str, items: tuple[Article, ...], per_page: int,
    feeds: tuple[FeedLink, ...] = (), periods: tuple[PeriodLink, ...] = (),
) -> Iterable[Page]:  # fmt: skip
    for path, chunk, pager in paginate(section.path, items, per_page):
        title = section.name if pager.is_latest else f"{section.name} (page {pager.number})"
        latest = pager.is_latest
        yield Page(
            path, template, section.kind, title, section=section, items=chunk, pager=pager,
            total=len(items) if latest else None, periods=periods if latest else (), feeds=feeds,
        )  # fmt: skip


def _group_pages(groups: tuple[Group, ...], per_page: int) -> Iterable[Page]:
    for group in groups:
        feed = FeedLink(f"{group.name} (RSS)", group.feed_path, "application/rss+xml")
        section = Section(group.kind, group.name, group.path, group.feed_path, group.domain)
        yield from _listing(section, f"{group.kind}.html", group.articles, per_page, (feed,))


def _archive_pages(archives: tuple[Archive, ...], per_page: int) -> Iterable[Page]:
    for archive in archives:
        section = Section(archive.kind, archive.name, archive.path, start=archive.start)
        periods = tuple(PeriodLink(c.name, c.path, len(c.articles)) for c in archive.children)
        yield from _listing(section, "period.html", archive.articles, per_page, periods=periods)
        yield from _archive_pages(archive.children, per_page)


def _article_pages(articles: tuple[Article, ...], reuse: Mapping[str, Page]) -> Iterable[Page]:
    # Articles on the same topics share one tuple of feed links, and each topic has one
    # link: fewer objects to hold, and each fingerprinted once.
    shared: dict[tuple[Term, ...], tuple[FeedLink, ...]] = {}
    links: dict[Term, FeedLink] = {}
    for article in articles:
        before = reuse.get(article.path)
        if before is not None and before.article is article:
            yield before  # everything on an article's page comes from the article
            continue
        feeds = shared.get(article.topics)
        if feeds is None:
            feeds = shared[article.topics] = tuple(
                links.get(t) or links.setdefault(t, _topic_feed(t)) for t in article.topics
            )
        yield article_page(article, feeds)


def _topic_feed(topic: Term) -> FeedLink:
    return FeedLink(f"{topic.name} (RSS)", f"topics/{topic.slug}/feed.xml", "application/rss+xml")


def plan_pages(
    site: Site, reuse: Mapping[str, Page] | None = None, cancel: threading.Event | None = None
) -> tuple[Page, ...]:
    """Every HTML page, in a stable order; `BuildError` if two share an output path.
    `reuse` holds a previous plan's pages by path: an article's page is taken from it
    when it shows the very same article. Once `cancel` is set, `BuildCancelled` within
    the next `PLANNED_BETWEEN_LOOKS` pages."""
    per_page = site.config.per_page
    home = Section("home", site.config.title, "", "feed.xml")
    planning = itertools.chain(
        _listing(home, "home.html", site.articles, per_page),
        _article_pages(site.articles, reuse or {}),
        [Page("topics/", "topics.html", "topics", "Topics")],
        _group_pages(site.topics, per_page),
        [Page("sources/", "sources.html", "sources", "Sources")],
        _group_pages(site.sources, per_page),
        [Page("archive/", "archive.html", "archive", "Archive")],
        _archive_pages(site.years, per_page),
        [Page("404.html", "404.html", "404", "Page not found")],
    )
    pages = tuple(planning if cancel is None else _looking(planning, cancel))
    check_unique_paths(p.output_path for p in pages)
    return pages


def _looking(pages: Iterable[Page], cancel: threading.Event) -> Iterator[Page]:
    """The `pages`, with a look at `cancel` every `PLANNED_BETWEEN_LOOKS`."""
    for n, page in enumerate(pages):
        if not n % PLANNED_BETWEEN_LOOKS:
            stop_if_cancelled(cancel)
        yield page


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


def check_nesting(paths: Iterable[str]) -> None:
    """Raise `BuildError` naming every output path that another one needs as a folder
    (a site's `static/style.css/` beside the theme's `static/style.css`)."""
    files = set(paths)
    clashes = sorted({folder for path in files for folder in folders_of(path) if folder in files})
    if clashes:
        raise BuildError(
            tuple(
                error(path, None, "is written as a file, and as a folder holding other outputs")
                for path in clashes
            )
        )


def folders_of(path: str) -> Iterable[str]:
    """The folders `path` is in: `a/b/c` is in `a/b` and `a`."""
    end = path.rfind("/")
    while end > 0:
        yield path[:end]
        end = path.rfind("/", 0, end)
