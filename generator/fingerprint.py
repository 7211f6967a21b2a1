"""Fingerprints: short digests of what a page shows, so unchanged pages are not rendered.

Owns how values are digested: frozen dataclasses field by field, articles by their
source digest plus the links the assembler gave them, and each distinct object once
per build. Two values with equal fingerprints render to the same bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import operator
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from generator.feeds import Feed
from generator.model import Article, Site

# Fields whose content is covered by `Article.source_hash`: the body is a function of
# the file's bytes and the settings hashed into it.
_COVERED_BY_SOURCE = frozenset({"body_html"})
_PLAIN = frozenset({str, int, bool, float, type(None)})
"""Types digested as their `repr`."""


@functools.cache
def _fields_of(kind: type) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    """The names of a dataclass's digested fields, and a function getting their values."""
    skip = _COVERED_BY_SOURCE if kind is Article else frozenset()
    names = tuple(f.name for f in dataclasses.fields(kind) if f.name not in skip)
    getter = operator.attrgetter(*names) if names else (lambda _: ())
    if len(names) == 1:
        return names, lambda value: (getter(value),)
    return names, getter


class Fingerprinter:
    """Digests values; remembers each article, tuple and dataclass it has seen."""

    def __init__(self, salt: str) -> None:
        self._salt = salt
        self._memo: dict[int, str] = {}
        self._keep: list[object] = []  # keeps memoised objects alive, so ids stay unique

    def forget(self) -> None:
        """Drop what was remembered (digests stay the same; only slower to make)."""
        self._memo.clear()
        self._keep.clear()

    def of(self, value: object) -> str:
        return self._salted(self._part(value))

    def of_once(self, value: object) -> str:
        """`of` for a value seen once (a page): the same digest, without remembering the
        value itself (what it holds is still remembered)."""
        if type(value) in _PLAIN or id(value) in self._memo or isinstance(value, datetime):
            return self.of(value)
        return self._salted(self._composed(value))

    def _salted(self, text: str) -> str:
        digest = hashlib.blake2b(self._salt.encode(), digest_size=16)
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
        if isinstance(value, tuple | list):
            return "(" + ",".join([repr(v) if type(v) in _PLAIN else part(v) for v in value]) + ")"
        if isinstance(value, Mapping):
            return "{" + ",".join([f"{part(k)}:{part(v)}" for k, v in value.items()]) + "}"
        if isinstance(value, Article) and value.source_hash:
            return self._article(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            names, values = _fields_of(type(value))
            fields = [
                f"{n}={v!r}" if type(v) in _PLAIN else f"{n}={part(v)}"
                for n, v in zip(names, values(value), strict=True)
            ]
            return type(value).__name__ + "(" + ",".join(fields) + ")"
        return type(value).__name__ + ":" + repr(value)

    def _article(self, article: Article) -> str:
        # Everything read from the file is covered by its digest; add what the
        # assembler decided across files, spelled out for speed.
        terms = [(t.name, t.slug) for t in article.topics]
        source = (article.source.name, article.source.slug) if article.source else None
        links = [(link.title, link.path) for link in article.more_from_topics]
        for link in (article.previous, article.next):
            links.append((link.title, link.path) if link else ("", ""))
        related = [r.internal_path for r in article.related]
        decided = (article.slug, terms, source, links, related)
        return f"Article({article.source_hash},{decided!r})"


class PageDigests:
    """The digest of a page: its own fingerprint plus those of the `site` attributes its
    templates read. Equal digests mean the page would render to the same bytes."""

    def __init__(self, salt: str, site: Site) -> None:
        self._fingerprints = Fingerprinter(salt)
        self._site = site
        self._site_parts: dict[str, str] = {}

    def of(self, page: object, uses: frozenset[str]) -> str:
        parts = [self._fingerprints.of_once(page)]
        parts.extend(self._site_part(name) for name in sorted(uses))
        return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()

    def of_feed(self, feed: Feed) -> str:
        """The digest of a feed. Its items show what their files say (their source
        digests), where they live and their topics' names: not the links to other
        articles the assembler gave them, so a neighbour's new title leaves it alone."""
        if not all(article.source_hash for article in feed.articles):
            return self.of(feed, frozenset())
        items = [(a.source_hash, a.path, [t.name for t in a.topics]) for a in feed.articles]
        spelled = repr((feed.format, feed.title, feed.page_path, feed.path, items))
        return self._fingerprints.of(spelled)

    def settle(self) -> None:
        """Digest every attribute of the site now, then forget the digests of the
        objects inside it. Called before workers fork: they then never walk the whole
        site (which would copy all of the parent's memory into each of them)."""
        for field in dataclasses.fields(self._site):
            self._site_part(field.name)
        self._fingerprints.forget()

    def _site_part(self, name: str) -> str:
        if name not in self._site_parts:
            self._site_parts[name] = (
                name + "=" + self._fingerprints.of(getattr(self._site, name, None))
            )
        return self._site_parts[name]
