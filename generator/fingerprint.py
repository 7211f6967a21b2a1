"""Fingerprints: short digests of what a page shows, so unchanged pages are not rendered.

Owns how values are digested: frozen dataclasses field by field, articles by their
source digest plus the links the assembler gave them, and each distinct object once
per build. Two values with equal fingerprints render to the same bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from generator.feeds import Feed
from generator.model import Article, Page, Site

# Fields whose content is covered by `Article.source_hash`: the body is a function of
# the file's bytes and the settings hashed into it.
_COVERED_BY_SOURCE = frozenset({"body_html"})
_PLAIN = frozenset({str, int, bool, float, type(None)})
"""Types digested as their `repr`."""


Speller = Callable[[Any, Callable[[object], str], Mapping[int, str]], str]
"""Spells a dataclass value, given how to spell a field value that is not plain and the
spellings remembered by `id`."""


@functools.cache
def _speller_of(kind: type) -> Speller | None:
    """A function spelling a dataclass of type `kind` as `Kind(name=...,...)`, its digested
    fields in order, plain values as their `repr` and others as `part` spells them;
    None if `kind` is not a dataclass. Written out field by field (as `dataclasses`
    writes `__init__`), looking each value up in `memo` first: a build spells every
    page and every article, most of whose values were spelled before."""
    if not dataclasses.is_dataclass(kind):
        return None
    skip = _COVERED_BY_SOURCE if kind is Article else frozenset()
    # Fields made from the others (`init=False`) add nothing to tell values apart.
    names = [f.name for f in dataclasses.fields(kind) if f.init and f.name not in skip]
    values = "".join(f"    v{i} = value.{name}\n" for i, name in enumerate(names))
    spelled = ",".join(
        f"{name}={{_repr(v{i}) if type(v{i}) in _plain else memo.get(id(v{i})) or part(v{i})}}"
        for i, name in enumerate(names)
    )
    code = f"def spell(value, part, memo):\n{values}    return f'{kind.__name__}({spelled})'\n"
    namespace: dict[str, Any] = {"_repr": repr, "_plain": _PLAIN}
    exec(code, namespace)  # made from field names alone
    speller: Speller = namespace["spell"]
    return speller


class Fingerprinter:
    """Digests values; remembers each article, tuple and dataclass it has seen."""

    def __init__(self, salt: str, known: Iterable[tuple[object, str]] = ()) -> None:
        """`known`: objects and their spelling, as `spelling_of` gave them."""
        self._salt = salt.encode("utf-8", "surrogatepass")
        self._memo: dict[int, str] = {}
        self._keep: list[object] = []  # keeps memoised objects alive, so ids stay unique
        self.learn(known)

    def learn(self, known: Iterable[tuple[object, str]]) -> None:
        """Take these objects as spelled so (as `spelling_of` gave them)."""
        for value, text in known:
            self._memo[id(value)] = text
            self._keep.append(value)

    def spelling_of(self, values: Iterable[object]) -> list[tuple[object, str]]:
        """The values already spelled, with their spelling: to pass on to a later
        `Fingerprinter` that will meet the same (unchanged, frozen) objects."""
        memo = self._memo
        return [(value, memo[id(value)]) for value in values if id(value) in memo]

    def of(self, value: object) -> str:
        return self.salted(self._part(value))

    def spelled(self, value: object) -> str:
        """The text `of` digests, for a value seen once (a page): what the value holds is
        remembered, the value itself is not."""
        if type(value) in _PLAIN or id(value) in self._memo or isinstance(value, datetime):
            return self._part(value)
        return self._compose(value)

    def salted(self, text: str) -> str:
        digest = hashlib.blake2b(self._salt, digest_size=16)
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _part(self, value: object) -> str:
        # Memoised objects are kept alive, so their ids cannot be reused meanwhile.
        if type(value) in _PLAIN:
            return repr(value)
        key = id(value)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        if isinstance(value, datetime):
            return value.isoformat()
        text = self._composed(value)
        self._memo[key] = text
        self._keep.append(value)
        return text

    def _composed(self, value: object) -> str:
        """The value spelled out, or the digest of that spelling when it is long."""
        text = self._compose(value)
        if len(text) > 64:
            text = hashlib.blake2b(
                text.encode("utf-8", "surrogatepass"), digest_size=16
            ).hexdigest()
        return text

    def _compose(self, value: Any) -> str:
        part = self._part
        kind: type = type(value)
        if kind is tuple or kind is list:
            # Most members were seen before (the articles of a listing): look them up
            # first. Plain values are never remembered, so they fall through to `part`.
            memo = self._memo
            return "(" + ",".join([memo.get(id(v)) or part(v) for v in value]) + ")"
        if kind is Article and value.source_hash:
            return self._article(value)
        speller = _speller_of(kind)
        if speller is not None:
            return speller(value, part, self._memo)
        if isinstance(value, tuple | list):
            return "(" + ",".join([part(v) for v in value]) + ")"
        if isinstance(value, Mapping):
            return "{" + ",".join([f"{part(k)}:{part(v)}" for k, v in value.items()]) + "}"
        return kind.__name__ + ":" + repr(value)

    def _article(self, article: Article) -> str:
        # Everything read from the file is covered by its digest; add where the file
        # is (its name gives the default id) and what the assembler decided across
        # files. Its terms and links are shared by many articles, so each is spelled once.
        part = self._part
        decided = [
            article.source_hash,
            repr(article.slug),
            repr(article.source_path),
            repr(article.id),
        ]
        decided.extend([part(term) for term in article.topics])
        decided.append(part(article.source) if article.source else "-")
        decided.extend([part(link) for link in article.more_from_topics])
        decided.append(part(article.previous) if article.previous else "-")
        decided.append(part(article.next) if article.next else "-")
        decided.append(repr([(i.internal_path, i.internal_title) for i in article.related]))
        return (
            f"Article({len(article.topics)},{len(article.more_from_topics)},"
            + ",".join(decided)
            + ")"
        )


class KnownPage(NamedTuple):
    """A page as one build digested it, for the next build to recognise."""

    page: Page
    spelled: str
    """Its own fingerprint's text."""
    site_parts: str
    """The text of the `site` attributes its templates read."""
    salt: str
    digest: str


class Settled(NamedTuple):
    """What `PageDigests.settle` works out, as plain text."""

    articles: tuple[str, ...]
    """The spelling of each of the site's articles, in order."""
    site_parts: dict[str, str]
    """The text of each `site` attribute."""


class PageDigests:
    """The digest of a page: its own fingerprint plus those of the `site` attributes its
    templates read. Equal digests mean the page would render to the same bytes."""

    def __init__(
        self,
        salt: str,
        site: Site,
        known: Iterable[tuple[object, str]] = (),
        known_pages: Mapping[str, KnownPage] | None = None,
    ) -> None:
        """`known` and `known_pages`: what `settle` and `known_pages` gave a previous
        build, whose unchanged articles and pages this build meets again."""
        self._fingerprints = Fingerprinter(salt, known)
        self._salt = salt
        self.site = site
        self._site_parts: dict[str, str] = {}
        self._uses: dict[frozenset[str], str] = {}
        self._known_pages = known_pages or {}
        self._pages: dict[str, KnownPage] | None = None if known_pages is None else {}

    def of(self, page: Page, uses: frozenset[str]) -> str:
        site_parts = self._uses.get(uses)
        if site_parts is None:
            site_parts = "".join(["|" + self._site_part(name) for name in sorted(uses)])
            self._uses[uses] = site_parts
        known = self._known_pages.get(page.path)
        if known is not None and (known.page is page or known.page == page):
            # equal values spell the same
            if known.site_parts == site_parts and known.salt == self._salt:
                if self._pages is not None:
                    self._pages[page.path] = known
                return known.digest
            spelled = known.spelled
        else:
            spelled = self._fingerprints.spelled(page)
        digest = self._fingerprints.salted(spelled + site_parts)
        if self._pages is not None:
            self._pages[page.path] = KnownPage(page, spelled, site_parts, self._salt, digest)
        return digest

    def known_pages(self) -> dict[str, KnownPage]:
        """The pages digested here, for a later build's `known_pages` (kept only when
        this build was given some, perhaps none)."""
        return self._pages if self._pages is not None else {}

    def of_feed(self, feed: Feed) -> str:
        """The digest of a feed. Its items show what their files say (their source
        digests), where they live and their topics' names: not the links to other
        articles the assembler gave them, so a neighbour's new title leaves it alone."""
        if not all(article.source_hash for article in feed.articles):
            return self._fingerprints.of(feed)
        items = [(a.source_hash, a.path, [t.name for t in a.topics]) for a in feed.articles]
        spelled = repr((feed.format, feed.title, feed.page_path, feed.path, items))
        return self._fingerprints.salted(spelled)

    def settle(self) -> None:
        """Digest every attribute of the site now. Called before workers fork: they
        then never walk the whole site (which would copy all of the parent's memory
        into each of them), and find every article already spelled."""
        for field in dataclasses.fields(self.site):
            self._site_part(field.name)

    def spelling(self) -> list[tuple[object, str]]:
        """The spelling of each of the site's articles, once settled, for a later
        build's `known`."""
        return self._fingerprints.spelling_of(self.site.articles)

    def settled(self) -> Settled:
        """`settle`, as plain text: what another process settling this site (forked from
        this one) sends back for `adopt`."""
        self.settle()
        texts = tuple([text for _, text in self.spelling()])
        return Settled(texts, dict(self._site_parts))

    def adopt(self, settled: Settled) -> None:
        """Take what `settled` gave in a process forked from this one, for the same site:
        as if `settle` had been called here."""
        articles = self.site.articles
        assert len(settled.articles) == len(articles), "settled for another site"
        self._fingerprints.learn(zip(articles, settled.articles, strict=True))
        self._site_parts.update(settled.site_parts)

    def _site_part(self, name: str) -> str:
        if name not in self._site_parts:
            self._site_parts[name] = (
                name + "=" + self._fingerprints.of(getattr(self.site, name, None))
            )
        return self._site_parts[name]
