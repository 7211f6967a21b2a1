"""Fingerprints: short digests of what a page shows, so unchanged pages are not rendered.

Owns how values are digested: frozen dataclasses field by field, articles by their
source digest plus the links the assembler gave them, and each distinct object once
per build. Two values with equal fingerprints render to the same bytes. A page whose
templates read nothing of its articles' links (by what its last rendering read,
`generator.render.LINKS_READ`) is digested with its articles' cards alone: a
neighbour's new title, which changes their links, leaves it as it is.
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
from generator.render import ALL_TEMPLATES, LINKS_READ, TEMPLATE_READ, template_name
from generator.theme import TemplateDigests

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


Spelling = tuple[object, str, str | None]
"""A value, its spelling, and for an article the spelling of its card."""


class Fingerprinter:
    """Digests values; remembers each article, tuple and dataclass it has seen."""

    def __init__(self, salt: str, known: Iterable[Spelling] = ()) -> None:
        """`known`: objects and their spelling, as `spelling_of` gave them."""
        self._salt = salt.encode("utf-8", "surrogatepass")
        self._memo: dict[int, str] = {}
        self._cards: dict[int, str] = {}
        """The spelling of each article's card: all of it but its links to others."""
        self._keep: list[object] = []  # keeps memoised objects alive, so ids stay unique
        self.learn(known)

    def learn(self, known: Iterable[Spelling]) -> None:
        """Take these objects as spelled so (as `spelling_of` gave them)."""
        memo, cards = self._memo, self._cards
        for value, text, card in known:
            memo[id(value)] = text
            if card is not None:
                cards[id(value)] = card
            self._keep.append(value)

    def spelling_of(self, values: Iterable[object]) -> list[Spelling]:
        """The values already spelled, with their spelling: to pass on to a later
        `Fingerprinter` that will meet the same (unchanged, frozen) objects."""
        memo, cards = self._memo, self._cards
        return [(v, memo[id(v)], cards.get(id(v))) for v in values if id(v) in memo]

    def of(self, value: object) -> str:
        return self.salted(self._part(value))

    def spelled(self, value: object) -> str:
        """The text `of` digests, for a value seen once (a page): what the value holds is
        remembered, the value itself is not."""
        if type(value) in _PLAIN or id(value) in self._memo or isinstance(value, datetime):
            return self._part(value)
        return self._compose(value)

    def card(self, article: Article) -> str:
        """The spelling of all of an article but its links to other articles (`previous`,
        `next`, `more_from_topics`): what a listing shows of it."""
        card = self._cards.get(id(article))
        if card is not None:
            return card
        if not article.source_hash:  # made in memory: spelled whole
            return self._part(article)
        part = self._part
        decided = [
            article.source_hash,
            repr(article.slug),
            repr(article.source_path),
            repr(article.id),
        ]
        decided.extend([part(term) for term in article.topics])
        decided.append(part(article.source) if article.source else "-")
        decided.append(repr([(i.internal_path, i.internal_title) for i in article.related]))
        text = f"Card({len(article.topics)}," + ",".join(decided) + ")"
        card = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        self._cards[id(article)] = card
        self._keep.append(article)
        return card

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
        # files (`card`), then its links. Its terms and links are shared by many
        # articles, so each is spelled once.
        part = self._part
        linked = [part(link) for link in article.more_from_topics]
        linked.append(part(article.previous) if article.previous else "-")
        linked.append(part(article.next) if article.next else "-")
        more = len(article.more_from_topics)
        return f"Article({self.card(article)},{more}," + ",".join(linked) + ")"


class _CardFingerprinter(Fingerprinter):
    """Digests values as `whole` does, but for each article, spelled as its card alone
    (`Fingerprinter.card`): for the pages whose templates read no article's links."""

    def __init__(self, salt: str, whole: Fingerprinter) -> None:
        super().__init__(salt)
        self._whole = whole
        self.take_cards()

    def take_cards(self) -> None:
        """Take the cards `whole` knows as the spelling of their articles (which it
        keeps alive)."""
        self._memo.update(self._whole._cards)

    def _article(self, article: Article) -> str:
        return self._whole.card(article)


class KnownPage(NamedTuple):
    """A page as one build digested it, for the next build to recognise."""

    page: Page
    spelled: str
    """Its own fingerprint's text."""
    site_parts: str
    """The text of the `site` attributes its templates read."""
    salt: str
    digest: str
    cards: bool = False
    """Whether `spelled` spells its articles by their cards."""


class Settled(NamedTuple):
    """What `PageDigests.settle` works out, as plain text."""

    articles: tuple[str, ...]
    """The spelling of each of the site's articles, in order."""
    cards: tuple[str | None, ...]
    """The spelling of each one's card."""
    site_parts: dict[str, str]
    """The text of each `site` attribute."""


class PageDigests:
    """The digest of a page: its own fingerprint plus those of the `site` attributes its
    templates read and of the templates it loaded (the salt holds the settings). Equal
    digests mean the page would render to the same bytes. Where the templates read no
    article's links (`LINKS_READ` is not among what they read), the page's own
    articles are spelled by their cards alone. (The `site` attributes are spelled
    whole: the few pages reading lists of the whole site, which hold every article,
    are rendered again when any article's links change.)"""

    def __init__(
        self,
        salt: str,
        site: Site,
        known: Iterable[Spelling] = (),
        known_pages: Mapping[str, KnownPage] | None = None,
        templates: TemplateDigests | None = None,
    ) -> None:
        """`known` and `known_pages`: what `settle` and `known_pages` gave a previous
        build, whose unchanged articles and pages this build meets again. `templates`:
        the digests of the templates pages load (none: every template is taken to be
        unchanged)."""
        self._templates = templates or TemplateDigests("", {})
        self._fingerprints = Fingerprinter(salt, known)
        self._by_cards = _CardFingerprinter(salt, self._fingerprints)
        self._salt = salt
        self.site = site
        self._site_parts: dict[str, str] = {}
        self._uses: dict[frozenset[str], str] = {}
        self._known_pages = known_pages or {}
        self._pages: dict[str, KnownPage] | None = None if known_pages is None else {}

    def of(self, page: Page, uses: frozenset[str]) -> str:
        """The digest of `page`, rendered by templates that read the `uses` (as the
        last rendering of the page noted them, `Rendered.uses`)."""
        cards = LINKS_READ not in uses
        site_parts = self._uses.get(uses)
        if site_parts is None:
            read = sorted(uses - {LINKS_READ})
            site_parts = "".join(["|" + self._read_part(name) for name in read])
            self._uses[uses] = site_parts
        known = self._known_pages.get(page.path)
        if (
            known is not None
            and known.cards == cards
            and (known.page is page or known.page == page)  # equal values spell the same
        ):
            if known.site_parts == site_parts and known.salt == self._salt:
                if self._pages is not None:
                    self._pages[page.path] = known
                return known.digest
            spelled = known.spelled
        else:
            spelled = (self._by_cards if cards else self._fingerprints).spelled(page)
        digest = self._fingerprints.salted(spelled + site_parts)
        if self._pages is not None:
            known = KnownPage(page, spelled, site_parts, self._salt, digest, cards)
            self._pages[page.path] = known
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

    def spelling(self) -> list[Spelling]:
        """The spelling of each of the site's articles (spelled now, those not spelled
        yet), for a later build's `known`."""
        self._site_part("articles")
        return self._fingerprints.spelling_of(self.site.articles)

    def settled(self) -> Settled:
        """`settle`, as plain text: what another process settling this site (forked from
        this one) sends back for `adopt`."""
        self.settle()
        spelling = self.spelling()
        texts = tuple([text for _, text, _ in spelling])
        cards = tuple([card for _, _, card in spelling])
        return Settled(texts, cards, dict(self._site_parts))

    def adopt(self, settled: Settled) -> None:
        """Take what `settled` gave in a process forked from this one, for the same site:
        as if `settle` had been called here."""
        articles = self.site.articles
        assert len(settled.articles) == len(articles), "settled for another site"
        self._fingerprints.learn(zip(articles, settled.articles, settled.cards, strict=True))
        self._by_cards.take_cards()
        self._site_parts.update(settled.site_parts)

    def _read_part(self, name: str) -> str:
        """The text for one thing a page read: a template, or an attribute of the site."""
        if name.startswith(TEMPLATE_READ):
            return name + "=" + self._templates.of(template_name(name))
        if name == ALL_TEMPLATES:
            return name + "=" + self._templates.whole
        return self._site_part(name)

    def _site_part(self, name: str) -> str:
        if name not in self._site_parts:
            self._site_parts[name] = (
                name + "=" + self._fingerprints.of(getattr(self.site, name, None))
            )
        return self._site_parts[name]
