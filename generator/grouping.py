"""Grouping: articles gathered by topic, by source and by date.

Owns the canonical name and unique slug of each topic and source, and the
year/month/day archive tree. Pure functions over tuples of articles.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from generator.model import Archive, Article, Group, Term
from generator.slugs import identity_key, numbered_from, unique_slug


def canonical_terms(
    terms: Iterable[Term], held: Mapping[str, str] | None = None
) -> tuple[dict[str, Term], list[tuple[Term, Term]]]:
    """One term per key: its most common spelling (ties: first in code-point order), and a
    slug unique among all keys; with each term whose slug was taken by another's (and
    so got a number), paired with that other term.

    `terms` come oldest article first: slugs are given out in order of first use, so
    a topic that appears later never takes an older one's URL (and feed). First of all,
    a key keeps the slug `held` gives it (the one a build before published it at), if
    that is its slug or one numbered from it: a topic used further back than any
    other, but new to the site, does not take a published one's URL either."""
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    slugs: dict[str, str] = {}
    for term in terms:
        spellings[term.key][term.name] += 1
        slugs.setdefault(term.key, term.slug)
    given: dict[str, str] = {}  # slug -> key
    if held:
        for key, wanted in slugs.items():
            kept = held.get(key)
            if kept is not None and kept not in given and numbered_from(kept, wanted):
                given[kept] = key
    of_key = {key: slug for slug, key in given.items()}
    for key, wanted in slugs.items():
        if key not in of_key:
            slug = unique_slug(wanted, given.keys())
            given[slug] = key
            of_key[key] = slug
    result: dict[str, Term] = {}
    for key in slugs:
        name = min(spellings[key].items(), key=lambda item: (-item[1], item[0]))[0]
        result[key] = Term(key=key, name=name, slug=of_key[key])
    clashes = [
        (result[key], result[given[wanted]])
        for key, wanted in slugs.items()
        if of_key[key] != wanted and wanted in given
    ]
    return result, clashes


def group_articles(
    kind: str, articles: tuple[Article, ...], terms_of: Callable[[Article], Iterable[Term]]
) -> tuple[Group, ...]:
    """Groups sorted by name (case and accents aside), each with its articles in the
    order given (newest first)."""
    members: dict[str, list[Article]] = defaultdict(list)
    found: dict[str, Term] = {}
    for article in articles:
        for term in terms_of(article):
            members[term.key].append(article)
            found[term.key] = term
    domains: dict[str, str] = {}
    if kind == "source":
        domains = {a.source.key: a.provider.domain for a in articles if a.source and a.provider}
    return tuple(
        Group(kind, term, tuple(members[term.key]), domains.get(term.key, ""))
        # A to Z as a reader expects, accents aside: `Économie` among the Es.
        for term in sorted(found.values(), key=lambda t: (identity_key(t.name), t.slug))
    )


def group_by_date(articles: tuple[Article, ...]) -> tuple[Archive, ...]:
    """Years, newest first, each holding its months and each month its days."""

    def start_of(kind: str, moment: datetime) -> datetime:
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if kind == "day":
            return day
        return day.replace(day=1) if kind == "month" else day.replace(month=1, day=1)

    def build(kind: str, items: tuple[Article, ...]) -> tuple[Archive, ...]:
        # Bucketed by the start of `day_path` (`YYYY/MM/DD/`), which sorts as the dates do.
        width = _PATH_WIDTH[kind]
        buckets: dict[str, list[Article]] = defaultdict(list)
        for article in items:
            buckets[article.day_path[:width]].append(article)
        child = {"year": "month", "month": "day"}.get(kind)
        return tuple(
            Archive(
                kind,
                start_of(kind, members[0].published),
                tuple(members),
                build(child, tuple(members)) if child else (),
            )
            for _, members in sorted(buckets.items(), reverse=True)
        )

    return build("year", articles)


_PATH_WIDTH = {"year": 5, "month": 8, "day": 11}
"""How much of an article's `day_path` names its year, month and day."""
