"""The assembler: turns loaded articles into a `Site`, everything grouped and linked.

Owns visibility (drafts, unpublished), slug uniqueness, article order, related
links, previous/next and the site-wide feed list. Pure: it only reads its inputs.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from generator.config import SiteConfig
from generator.diagnostics import Diagnostic, error, stop_if_cancelled, warning
from generator.grouping import canonical_terms, group_articles, group_by_date
from generator.model import (
    Addresses,
    Article,
    FeedLink,
    Link,
    RelatedItem,
    Site,
    Term,
    linked,
    pointing_at,
)
from generator.ranking import more_from_topics, rank_top_stories
from generator.slugs import numbered_from, unique_slug

LINKED_BETWEEN_LOOKS = 8_192
"""Articles linked between two looks at whether the build was cancelled: about 0.1 s."""


@dataclass(frozen=True, slots=True)
class Assembled:
    site: Site
    diagnostics: tuple[Diagnostic, ...]
    next_due: datetime | None = None
    """When the first article held back for its future date is due (`hide_future`)."""
    slug_taken: tuple[str, ...] = ()
    """The files set aside because their slug is taken."""
    stood_in: int = 0
    """How many of those a version published before stands in for."""
    hidden: tuple[str, ...] = ()
    """The files whose article is not shown: drafts, or held back for their date or as
    unpublished."""
    addresses: Addresses = field(default_factory=Addresses)
    """The addresses it gave out, for the next build to keep."""


def assemble_site(
    config: SiteConfig,
    articles: tuple[Article, ...],
    drafts: bool = False,
    reuse: Mapping[str, Article] | None = None,
    now: datetime | None = None,
    stand_ins: Mapping[str, Article | None] | None = None,
    published: Addresses | None = None,
    cancel: threading.Event | None = None,
) -> Assembled:
    """The site as published at `now` (which matters only with `hide_future`). `reuse`
    holds a previous build's assembled articles by source path: one whose links come
    out the same is taken as it is, so what was worked out about it (its fingerprint)
    still holds. `stand_ins` holds, by file path, the version published before of
    each article that changed since (None if none was): it is published instead of
    one that is set aside, and an article that did not change keeps its slug, and
    the number `published` (the addresses of the build before) says it had. A topic or
    source that build published keeps its slug too. Once `cancel` is set,
    `BuildCancelled` at the next of its steps (every few thousand articles linked)."""

    def shown(a: Article) -> bool:
        return (drafts or not a.draft) and (a.is_published or not config.hide_unpublished)

    cutoff = now if config.hide_future else None  # later articles are held back

    def in_view(a: Article) -> bool:
        return shown(a) and (cutoff is None or a.published <= cutoff)

    visible = tuple(filter(in_view, articles))
    hidden = tuple(sorted(a.source_path for a in articles if not in_view(a)))
    next_due = None
    if cutoff is not None:
        next_due = min(
            (a.published for a in articles if shown(a) and a.published > cutoff), default=None
        )
    usable = {path: a for path, a in (stand_ins or {}).items() if a is not None and in_view(a)}
    changed = frozenset(stand_ins) if stand_ins is not None else None
    before = published or Addresses()
    placing = _place(visible, usable, changed, before.numbered)
    placed, diagnostics = placing.articles, placing.diagnostics
    stop_if_cancelled(cancel)
    ordered = tuple(sorted(placed, key=lambda a: a.sort_key))
    names, clashes, terms = _canonical_names(ordered, before)
    stop_if_cancelled(cancel)
    by_url, twice = _addresses(ordered)
    linked = _link(ordered, names, by_url, reuse or {}, cancel)
    site = Site(
        config=config,
        articles=linked,
        topics=group_articles("topic", linked, lambda a: a.topics),
        sources=group_articles("source", linked, lambda a: (a.source,) if a.source else ()),
        years=group_by_date(linked),
        feeds=(
            FeedLink(f"{config.title} (RSS)", "feed.xml", "application/rss+xml"),
            FeedLink(f"{config.title} (Atom)", "atom.xml", "application/atom+xml"),
        ),
        top_stories=rank_top_stories(linked),
    )
    site = replace(
        site,
        busiest_topics=tuple(sorted(site.topics, key=lambda g: (-len(g.articles), g.term.key))),
        updated=max((a.updated or a.published for a in linked), default=None),
    )
    found = diagnostics + clashes + twice
    addresses = Addresses(placing.numbered, *terms)
    return Assembled(site, found, next_due, placing.slug_taken, placing.stood_in, hidden, addresses)


def _canonical_names(
    articles: tuple[Article, ...], before: Addresses
) -> tuple[
    Callable[[Article], tuple[tuple[Term, ...], Term | None]],
    tuple[Diagnostic, ...],
    tuple[dict[str, str], dict[str, str]],
]:
    """An article's topics and source as most of the `articles` (newest first) spell them;
    a warning for each topic or source whose slug an older one has (or one the build
    `before` published); and the slugs of the topics and of the sources, by key."""
    oldest_first = articles[::-1]
    topics, topic_clashes = canonical_terms(
        (t for a in oldest_first for t in a.topics), before.topics
    )
    sources, source_clashes = canonical_terms(
        (a.source for a in oldest_first if a.source), before.sources
    )

    def names(article: Article) -> tuple[tuple[Term, ...], Term | None]:
        source = sources[article.source.key] if article.source else None
        return tuple([topics[t.key] for t in article.topics]), source

    def first_with(key: str, kind: str) -> Article:
        if kind == "topic":
            return next(a for a in oldest_first if any(t.key == key for t in a.topics))
        return next(a for a in oldest_first if a.source and a.source.key == key)

    def clash(kind: str, term: Term, older: Term) -> Diagnostic:
        first = first_with(term.key, kind)
        return warning(
            first.source_path,
            first.topics_line if kind == "topic" else first.provider_line,
            f"the {kind} '{term.name}' is at {kind}s/{term.slug}/, since '{older.name}' has "
            f"{kind}s/{older.slug}/: rename one to tell them apart",
        )

    clashes = tuple(
        clash(kind, term, older)
        for kind, found in (("topic", topic_clashes), ("source", source_clashes))
        for term, older in found
    )
    slugs = tuple({key: term.slug for key, term in terms.items()} for terms in (topics, sources))
    return names, clashes, (slugs[0], slugs[1])


@dataclass(frozen=True, slots=True)
class _Placed:
    articles: tuple[Article, ...]
    diagnostics: tuple[Diagnostic, ...]
    slug_taken: tuple[str, ...]
    """The files set aside because their slug is taken."""
    stood_in: int
    """How many of them the version published before stands in for."""
    numbered: dict[str, str]
    """The slug of each article given a number, by file path."""


def _place(
    articles: tuple[Article, ...],
    stand_ins: Mapping[str, Article],
    changed: frozenset[str] | None = None,
    numbered: Mapping[str, str] | None = None,
) -> _Placed:
    """Give every article a unique path. An explicit slug that is taken sets the later
    file aside, and the version of it in `stand_ins` (by file path) stands in for it if
    its own path is free; a slug made from a title gets a numbered suffix instead, in
    order of date.

    With `changed` (the files, by path, changed since they were published), the
    articles published as they are, or changed but for their slug and day, keep their
    paths: they are placed before the rest, each at the slug `numbered` says it had (by
    file path), or else its own. An edit or a new file then never takes a live
    article's path."""
    diagnostics: list[Diagnostic] = []
    owners: dict[str, Article] = {}
    placed: list[Article] = []
    slug_taken: list[str] = []
    taken_on: dict[str, set[str]] = defaultdict(set)
    given: dict[str, str] = {}  # the slug of each article that got a number, by file
    wanted_of: dict[str, str] = {}  # the slug each of them wanted, by its path now

    def put(article: Article, slug: str) -> None:
        if slug != article.slug:
            given[article.source_path] = slug
            wanted_of[article.day_path + slug + "/"] = article.slug
            article = replace(article, slug=slug)
        owners[article.path] = article
        taken_on[article.day_path].add(slug)
        placed.append(article)

    def put_explicit(article: Article) -> None:
        other = owners.get(article.path)
        if other is None:
            put(article, article.slug)
            return
        diagnostics.append(
            error(
                article.source_path,
                article.slug_line,
                f"slug '{article.slug}' puts this article on /{article.path}, already used by "
                f"{other.source_path}; choose another slug",
            )
        )
        slug_taken.append(article.source_path)

    def put_live(titled: list[Article]) -> list[Article]:
        """Place each article at the slug it was published at, if free; the others back."""
        others = []
        for article in titled:
            slug = (numbered or {}).get(article.source_path, article.slug)
            if slug in taken_on[article.day_path] or not numbered_from(slug, article.slug):
                others.append(article)
            else:
                put(article, slug)
        return others

    def by_time(titled: list[Article]) -> list[Article]:
        return sorted(titled, key=lambda a: (a.published, a.source_path))

    in_file_order = sorted(articles, key=lambda a: a.source_path)
    explicit = [a for a in in_file_order if a.explicit_slug]
    titled = [a for a in in_file_order if not a.explicit_slug]
    rest: list[Article] = []
    if changed is None:
        for article in explicit:
            put_explicit(article)
    else:
        for article in explicit:
            if article.source_path not in changed:
                put_explicit(article)

        def stays(article: Article) -> bool:
            """Whether the article is where it was published: unchanged, or with the
            slug and day of the version published."""
            if article.source_path not in changed:
                return True
            before = stand_ins.get(article.source_path)
            return before is not None and (before.slug, before.day_path) == (
                article.slug,
                article.day_path,
            )

        rest = put_live(by_time([a for a in titled if stays(a)]))
        for article in explicit:
            if article.source_path in changed:
                put_explicit(article)
        titled = [a for a in titled if not stays(a)]
    standing = [stand_ins[p] for p in slug_taken if p in stand_ins]
    for article in standing:
        if article.explicit_slug and article.path not in owners:
            put(article, article.slug)
    standing_titled = [a for a in standing if not a.explicit_slug]
    if changed is not None:
        rest += put_live(by_time(standing_titled))
    else:
        titled += standing_titled
    for article in by_time(rest + titled):
        put(article, unique_slug(article.slug, taken_on[article.day_path]))
    for path, wanted in wanted_of.items():
        article = owners[path]
        other = owners.get(article.day_path + wanted + "/")
        if other is not None:
            diagnostics.append(
                warning(
                    article.source_path,
                    article.slug_line,
                    f"slug '{wanted}' is taken on {article.day_path} by {other.source_path}; "
                    f"using '{article.slug}' (set 'slug:' to choose one)",
                )
            )
    stood_in = sum(1 for a in standing if not a.explicit_slug or owners[a.path] is a)
    return _Placed(tuple(placed), tuple(diagnostics), tuple(slug_taken), stood_in, given)


def _addresses(
    articles: tuple[Article, ...],
) -> tuple[dict[str, Article], tuple[Diagnostic, ...]]:
    """The article at each address (`address_key`) the `articles` (newest first) give as
    their `webUrl` or `originalUrl`, the newest one where several give one; and a
    warning for each article whose `webUrl` a newer one gives too."""
    by_url: dict[str, Article] = {}
    first: dict[str, Article] = {}
    twice: list[Diagnostic] = []
    for article in articles:
        if article.web_url:
            key = article.web_url_key
            other = first.setdefault(key, article)
            if other is not article:
                twice.append(
                    warning(
                        article.source_path,
                        article.web_url_line,
                        f"its webUrl is also that of {other.source_path}: if it is the same "
                        "story twice, remove one (related items with that address link to "
                        "the other)",
                    )
                )
            by_url.setdefault(key, article)
        if article.original_url:
            by_url.setdefault(article.original_url_key, article)
    return by_url, tuple(twice)


def _link(
    articles: tuple[Article, ...],
    names: Callable[[Article], tuple[tuple[Term, ...], Term | None]],
    by_url: dict[str, Article],
    reuse: Mapping[str, Article],
    cancel: threading.Event | None,
) -> tuple[Article, ...]:
    """Previous/next links (by date), related items that point at our own pages, the
    nearest earlier articles on the same topics, and the canonical `names` (one copy
    per article, made by `linked`: it is the assembler's largest cost, so `cancel` is
    looked at every `LINKED_BETWEEN_LOOKS` articles)."""
    topic_positions: dict[str, list[int]] = defaultdict(list)
    for index, article in enumerate(articles):
        for topic in article.topics:
            topic_positions[topic.key].append(index)
    befores: list[Article | None] = [None] * len(articles)
    if reuse:
        befores = [reuse.get(a.source_path) for a in articles]
    links = _links_to(articles, befores)
    last = len(links) - 1
    result = []
    for index, article in enumerate(articles):
        if not index % LINKED_BETWEEN_LOOKS:
            stop_if_cancelled(cancel)
        topics, source = names(article)
        related = article.related
        if related:
            related = tuple([_pointed(item, by_url) for item in related])
        fields = (
            topics,
            source,
            related,
            links[index + 1] if index < last else None,  # previous
            links[index - 1] if index else None,  # next
            more_from_topics(index, article, topic_positions, links),
        )
        before = befores[index]
        if before is not None and _same(before, article, fields):
            result.append(before)
        else:
            result.append(linked(article, *fields))
    return tuple(result)


def _links_to(articles: tuple[Article, ...], befores: list[Article | None]) -> list[Link]:
    """One link to each of the `articles` (newest first), shared by every article pointing
    at it: the very link an article's newer neighbour assembled earlier (`befores`)
    held as its `previous`, if it still says the same, so `_same` finds it at once."""
    links = []
    newer: Article | None = None
    for article, before in zip(articles, befores, strict=True):
        link = newer.previous if newer is not None else None
        if link is None or link.path != article.path or link.title != article.title:
            link = Link(article.title, article.path)
        links.append(link)
        newer = before
    return links


def _same(before: Article, article: Article, fields: tuple[Any, ...]) -> bool:
    """Whether `before` (assembled earlier) is `article` with these linked `fields` (in
    the order of `LINKED_FIELDS`): all else comes from the same bytes (the same source
    digest), but for the slug, which placement may have changed."""
    if not article.source_hash or (before.source_hash, before.slug) != (
        article.source_hash,
        article.slug,
    ):
        return False
    topics, source, related, previous, next_, more = fields  # a check per article: unrolled
    return bool(
        (before.previous is previous or before.previous == previous)
        and (before.next is next_ or before.next == next_)
        and before.more_from_topics == more
        and before.topics == topics
        and before.source == source
        and before.related == related
    )


def _pointed(item: RelatedItem, by_url: dict[str, Article]) -> RelatedItem:
    """The related item, pointing at our own page for it if there is one (with that
    page's title, if the item has none of its own)."""
    if not item.web_url:
        return item
    ours = by_url.get(item.web_url_key)
    path = ours.path if ours else None
    title = ours.title if ours and not item.title else ""
    if path == item.internal_path and title == item.internal_title:
        return item
    return pointing_at(item, path, title)
