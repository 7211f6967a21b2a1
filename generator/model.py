"""The site's data: frozen records passed from stage to stage.

Owns the shapes only (articles, topics, sources, archives, pages, the site). No
stage mutates these; a later stage makes new values with `dataclasses.replace`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from generator.config import SiteConfig


@dataclass(frozen=True, slots=True)
class Term:
    """A topic or source identity: `key` decides sameness, `name` is shown, `slug` is the URL."""

    key: str
    name: str
    slug: str

    def __hash__(self) -> int:
        # Equal terms have equal keys. Pages and feeds look terms up by the thousand:
        # the key's hash is kept by the string, a tuple of all three is made each time.
        return hash(self.key)


@dataclass(frozen=True, slots=True)
class Addresses:
    """What a build published that the next one keeps: the slug of each article whose
    slug got a number (by file path), and the slug of each topic and source (by key)."""

    numbered: Mapping[str, str] = field(default_factory=dict)
    topics: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    domain: str


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None
    height: int | None
    alt: str
    caption: str
    is_cached: bool


def address_key(url: str) -> str:
    """What tells two addresses of one story apart: not the scheme (`http` or `https`),
    the case of the host or its `www.`, the port a scheme takes anyway, the case of a
    percent escape, a fragment or a trailing slash. Worked out once for each address,
    when its article is made (and kept with it in the build cache): the assembler
    matches every related item's address against every article's."""
    url = url.partition("#")[0].rstrip("/")
    if "%" in url:
        url = _ESCAPE.sub(lambda m: m.group().upper(), url)
    scheme, written, rest = url.partition("://")
    if not (written and scheme.isalpha()):
        return url  # relative
    host, slash, path = rest.partition("/")
    host = host.lower().removeprefix("www.").removesuffix(":443").removesuffix(":80")
    return "//" + host + slash + path


_ESCAPE = re.compile(r"%[0-9a-f]{2}", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RelatedItem:
    title: str
    excerpt: str
    published: datetime | None
    web_url: str
    amp_web_url: str
    cdn_amp_web_url: str
    type: str
    provider: Provider | None
    quality: int | None
    images: tuple[Image, ...]
    internal_path: str | None = None
    """Site path of the article this item points at, when it is one of ours."""
    internal_title: str = ""
    """The title of that article, when the item gives none of its own."""
    web_url_key: str = field(init=False, repr=False, compare=False)
    """`address_key` of `web_url` ("" without one)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "web_url_key", address_key(self.web_url) if self.web_url else "")


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    path: str


@dataclass(frozen=True, slots=True)
class Article:
    source_path: str
    """Where the article came from, as shown in diagnostics (`content/a.md`)."""
    id: str
    slug: str
    explicit_slug: bool
    title: str
    published: datetime
    """Aware, in the site's time zone."""
    updated: datetime | None
    excerpt: str
    body_html: str | None
    """None once the build cache holds it (under `source_hash`): read it back with
    `generator.cache.Bodies`, as the article page and the feeds do."""
    topics: tuple[Term, ...]
    category: str
    provider: Provider | None
    source: Term | None
    original_url: str
    web_url: str
    type: str
    quality: int | None
    heat: int | None
    is_published: bool
    draft: bool
    images: tuple[Image, ...]
    related: tuple[RelatedItem, ...]
    extra: Mapping[str, Any]
    slug_line: int | None = None
    """The line of the file the slug comes from: its `slug:`, or else its title."""
    web_url_line: int | None = None
    topics_line: int | None = None
    provider_line: int | None = None
    """The lines of the file its webUrl, topics and provider are written on, for the
    warnings the assembler gives about them."""
    source_hash: str = ""
    """Digest of the file's bytes and the settings that shaped this article."""
    # Links to other articles, left out of the `repr`: a template printing an article
    # shows only what is its own (see `generator.render.NEIGHBOURS`).
    previous: Link | None = field(default=None, repr=False)
    """The next older article."""
    next: Link | None = field(default=None, repr=False)
    """The next newer article."""
    more_from_topics: tuple[Link, ...] = field(default=(), repr=False)
    """The nearest earlier articles that share a topic with this one."""

    day_path: str = field(init=False, repr=False, compare=False)
    """`YYYY/MM/DD/` in the site's time zone."""
    path: str = field(init=False, repr=False, compare=False)
    """`YYYY/MM/DD/slug/`, the article's site path."""
    web_url_key: str = field(init=False, repr=False, compare=False)
    original_url_key: str = field(init=False, repr=False, compare=False)
    """`address_key` of `web_url` and of `original_url` ("" without one)."""

    def __post_init__(self) -> None:
        moment = self.published
        day = f"{moment.year:04d}/{moment.month:02d}/{moment.day:02d}/"
        object.__setattr__(self, "day_path", day)
        object.__setattr__(self, "path", f"{day}{self.slug}/")
        web, original = self.web_url, self.original_url
        object.__setattr__(self, "web_url_key", address_key(web) if web else "")
        object.__setattr__(self, "original_url_key", address_key(original) if original else "")

    @property
    def lead_image(self) -> Image | None:
        return self.images[0] if self.images else None

    @property
    def sort_key(self) -> tuple[float, str]:
        """Newest first when sorted ascending; the slug path breaks ties."""
        return (-self.published.timestamp(), self.path)


BodyOf = Callable[[Article], str]
"""How stages that show bodies get them (`generator.cache.Bodies`)."""


@dataclass(frozen=True, slots=True)
class Group:
    """A topic or a source with its articles, newest first."""

    kind: str
    term: Term
    articles: tuple[Article, ...]
    domain: str = ""

    @property
    def name(self) -> str:
        return self.term.name

    @property
    def path(self) -> str:
        return f"{self.kind}s/{self.term.slug}/"

    @property
    def feed_path(self) -> str:
        return self.path + "feed.xml"


MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Archive:
    """A year, month or day of articles in the site's time zone, newest first."""

    kind: str
    """`year`, `month` or `day`."""
    start: datetime
    articles: tuple[Article, ...]
    children: tuple[Archive, ...] = ()

    @property
    def path(self) -> str:
        """`YYYY/`, `YYYY/MM/` or `YYYY/MM/DD/`: the start of its articles' `day_path`."""
        start = self.start
        if self.kind == "year":
            return f"{start.year:04d}/"
        if self.kind == "month":
            return f"{start.year:04d}/{start.month:02d}/"
        return f"{start.year:04d}/{start.month:02d}/{start.day:02d}/"

    @property
    def name(self) -> str:
        # As `strftime` writes `%A %-d %B %Y` in the C locale, the only one a build
        # runs in, without its cost: a build names every day of its archive twice.
        start = self.start
        if self.kind == "year":
            return str(start.year)
        month = f"{MONTH_NAMES[start.month - 1]} {start.year}"
        if self.kind == "month":
            return month
        return f"{DAY_NAMES[start.weekday()]} {start.day} {month}"


@dataclass(frozen=True, slots=True)
class FeedLink:
    title: str
    path: str
    media_type: str


@dataclass(frozen=True, slots=True)
class Pager:
    """Where a listing page sits. Pages are numbered from the oldest, so a page keeps its
    number and its articles as the listing grows; the latest page (the listing's own URL)
    shows the newest articles."""

    number: int
    """This page's number, counting from the oldest (the latest page has the highest)."""
    is_latest: bool
    latest_path: str
    previous_path: str | None
    """The next page of newer articles."""
    next_path: str | None
    """The next page of older articles."""
    count: int | None = None
    """How many pages the listing has; set on the latest page only, which is rewritten
    whenever the listing grows anyway."""


@dataclass(frozen=True, slots=True)
class Section:
    """What a listing page lists: the home page, a topic, a source, or a year, month or
    day. Holds no articles, so a page of a listing changes only when its own do."""

    kind: str
    name: str
    path: str
    feed_path: str | None = None
    domain: str = ""
    start: datetime | None = None
    """The first moment of a year, month or day archive."""


@dataclass(frozen=True, slots=True)
class PeriodLink:
    name: str
    path: str
    count: int


@dataclass(frozen=True, slots=True)
class Page:
    """One HTML page to render: the template plus what it shows."""

    path: str
    """Site path: `""` for home, `topics/ai/` for a folder page, `404.html` for a file."""
    template: str
    kind: str
    title: str
    article: Article | None = None
    section: Section | None = None
    items: tuple[Article, ...] = ()
    pager: Pager | None = None
    total: int | None = None
    """Articles in the whole listing; on its latest page only."""
    periods: tuple[PeriodLink, ...] = ()
    """The months of a year, or the days of a month, with counts; on the latest page only."""
    feeds: tuple[FeedLink, ...] = ()

    output_path: str = field(init=False, repr=False, compare=False)
    """The file it is written to, relative to the output folder: `index.html` in its
    folder, or its own path for a file page."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "output_path", output_path_of(self.path))


def output_path_of(path: str) -> str:
    """The file a page at site `path` is written to (`Page.output_path`)."""
    return path + "index.html" if path.endswith("/") or not path else path


@dataclass(frozen=True, slots=True)
class Site:
    config: SiteConfig
    articles: tuple[Article, ...]
    """Every article shown, newest first."""
    topics: tuple[Group, ...]
    sources: tuple[Group, ...]
    years: tuple[Archive, ...]
    feeds: tuple[FeedLink, ...]
    """The site-wide feeds."""
    top_stories: tuple[Article, ...] = ()
    """Ranked by `generator.ranking.top_story_score`."""
    busiest_topics: tuple[Group, ...] = ()
    """Topics with the most articles first."""
    updated: datetime | None = None
    """The latest publication or update time of any article."""


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One file of the built site: where it goes (relative to the output folder), its
    bytes, and what made it (for messages)."""

    path: str
    data: bytes
    origin: str


@dataclass(frozen=True, slots=True)
class CopiedFile:
    """One file of the built site copied as it is from a file of the site or its theme
    (`static/`, `root/`): where it goes (relative to the output folder) and the file it
    is copied from. Its bytes are never held whole: the writer copies them in chunks."""

    path: str
    source: str


def _slot_setters(kind: type, names: Sequence[str]) -> dict[str, Any]:
    """`_set_NAME` for each of the `names`: the function setting that slot of a `kind`,
    frozen or not (its slot's own setter, a fifth faster than `object.__setattr__`,
    which looks the slot up by name each time)."""
    return {f"_set_{name}": getattr(kind, name).__set__ for name in names}


def _positional_setter(kind: type, names: tuple[str, ...]) -> Callable[[object, Any], None]:
    """A function setting the fields `names` of a frozen, slotted `kind` from a sequence of
    values, written out field by field: twice as fast as a loop, and run for every
    article a build loads from its cache."""
    code = f"def set_fields(self, values):\n    ({', '.join(names)},) = values\n" + "".join(
        f"    _set_{name}(self, {name})\n" for name in names
    )
    namespace = _slot_setters(kind, names)
    exec(code, namespace)  # made from field names alone, as `dataclasses` makes __init__
    setter: Callable[[object, Any], None] = namespace["set_fields"]
    return setter


def _pickled_by_position(*classes: type) -> None:
    """Give frozen, slotted dataclasses a faster pickle state: their field values in
    order. (The default looks every field up again for each object; articles and
    the cache's parse results are pickled and unpickled by the ten thousand.)"""
    for kind in classes:
        names = tuple(f.name for f in fields(kind))
        assert len(names) > 1, "attrgetter of one name gives a value, not a tuple"
        values = operator.attrgetter(*names)

        def getstate(self: object, values: Callable[[object], Any] = values) -> Any:
            return values(self)  # a method: an attrgetter would not be bound to `self`

        setattr(kind, "__getstate__", getstate)  # noqa: B010 - mypy would refuse the assignment
        setattr(kind, "__setstate__", _positional_setter(kind, names))  # noqa: B010


_pickled_by_position(Term, Provider, Image, RelatedItem, Link, Article)


def _replacing(kind: type, names: tuple[str, ...]) -> Callable[..., Any]:
    """A function copying a frozen, slotted `kind` with the fields `names` given anew, as
    arguments named after them (each required): `dataclasses.replace` for those fields,
    written out field by field (no `__init__` or `__post_init__` is run again): a few
    times faster, for copies made of every article of every build."""
    every = [f.name for f in fields(kind)]
    assert set(names) <= set(every), f"not fields of {kind.__name__}: {set(names) - set(every)}"
    code = (
        f"def replacing(value, {', '.join(names)}):\n    made = _new(_kind)\n"
        + "".join(f"    _set_{n}(made, {n if n in names else 'value.' + n})\n" for n in every)
        + "    return made\n"
    )
    namespace = {"_new": object.__new__, "_kind": kind, **_slot_setters(kind, every)}
    exec(code, namespace)  # made from field names alone, as `dataclasses` makes __init__
    replacing: Callable[..., Any] = namespace["replacing"]
    return replacing


LINKED_FIELDS = ("topics", "source", "related", "previous", "next", "more_from_topics")
"""The fields of an article the assembler links across articles, in `linked`'s order."""
_link_article = _replacing(Article, LINKED_FIELDS)
_copy_article = _replacing(Article, ("body_html",))
_copy_related = _replacing(RelatedItem, ("internal_path", "internal_title"))
_copy_page = _replacing(Page, ("article",))
_copy_article_page = _replacing(Page, ("path", "title", "article", "feeds", "output_path"))
_ARTICLE_PAGE = Page("", "article.html", "article", "")


def linked(
    article: Article,
    topics: tuple[Term, ...],
    source: Term | None,
    related: tuple[RelatedItem, ...],
    previous: Link | None,
    next: Link | None,
    more_from_topics: tuple[Link, ...],
) -> Article:
    """`dataclasses.replace` for the fields the assembler links across articles, a few
    times faster; its other fields, and the path made from them, are copied as they are."""
    copy: Article = _link_article(
        article, topics, source, related, previous, next, more_from_topics
    )
    return copy


def with_body(article: Article, body_html: str | None) -> Article:
    """The article with another body (`dataclasses.replace`, a few times faster)."""
    copy: Article = _copy_article(article, body_html)
    return copy


def pointing_at(item: RelatedItem, internal_path: str | None, internal_title: str) -> RelatedItem:
    """The related item with another `internal_path` and `internal_title`
    (`dataclasses.replace`, faster)."""
    copy: RelatedItem = _copy_related(item, internal_path, internal_title)
    return copy


def showing(page: Page, article: Article) -> Page:
    """The page with another copy of its article (`dataclasses.replace`, faster)."""
    copy: Page = _copy_page(page, article)
    return copy


def article_page(article: Article, feeds: tuple[FeedLink, ...]) -> Page:
    """The page of one article, linking `feeds`: `Page(article.path, "article.html",
    "article", article.title, article=article, feeds=feeds)`, a few times faster."""
    path = article.path
    page: Page = _copy_article_page(
        _ARTICLE_PAGE, path, article.title, article, feeds, output_path_of(path)
    )
    return page
