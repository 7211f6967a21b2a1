"""Grouping: articles gathered by topic, by source and by date.

Owns the canonical name and unique slug of each topic and source, and the
year/month/day archive tree. Pure functions over tuples of articles.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from generator.model import Archive, Article, Group, Term
from generator.slugs import identity_key, unique_slug


def canonical_terms(terms: Iterable[Term]) -> tuple[dict[str, Term], list[tuple[Term, Term]]]:
    """One term per key: its most common spelling (ties: first in code-point order), and a
    slug unique among all keys; with each term whose slug was taken by another's (and
    so got a number), paired with that other term.

    `terms` come oldest article first: slugs are given out in order of first use, so
    a topic that appears later never takes an older one's URL (and feed)."""
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    slugs: dict[str, str] = {}
    for term in terms:
        spellings[term.key][term.name] += 1
        slugs.setdefault(term.key, term.slug)
    owners: dict[str, Term] = {}
    result: dict[str, Term] = {}
    clashes: list[tuple[Term, Term]] = []
    for key, wanted in slugs.items():
        name = min(spellings[key].items(), key=lambda item: (-item[1], item[0]))[0]
        slug = unique_slug(wanted, owners.keys())
        result[key] = owners[slug] = Term(key=key, name=name, slug=slug)
        if slug != wanted:
            clashes.append((result[key], owners[wanted]))
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
