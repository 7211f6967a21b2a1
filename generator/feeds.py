"""Feeds: RSS 2.0 and Atom 1.0 documents for the site, each topic and each source.

Owns the feed formats: absolute URLs, RFC 822 dates in RSS, RFC 3339 in Atom,
stable guids (the article's permanent URL) and XML that is always well-formed,
with characters XML forbids removed. Pure: site in, `OutputFile` values out (article
bodies, kept out of the site, come from the `body_of` function it is given).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urljoin, urlsplit

from generator.model import Article, BodyOf, OutputFile, Site
from generator.urls import absolute_link_to

GENERATOR = "Broadsheet"
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.rstrip("_"): xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'


def serialise_xml(root: ET.Element) -> bytes:
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return XML_DECLARATION + body + b"\n"


def _content(article: Article, full: bool, body_of: BodyOf, url: str) -> str:
    """The article's body for a feed (if `full`), its links made absolute against its
    `url`: a feed reader has no page to resolve a relative one against."""
    return absolute_links(body_of(article), url) if full else ""


_LINKING_TAG = re.compile(r'(<(?:a|img))((?:\s+[a-zA-Z-]+="[^"]*")*)(\s*/?>)')
"""A link or image as the sanitiser writes it: every attribute value in double quotes,
which the value itself never holds."""
_ATTRIBUTE = re.compile(r'(\s+([a-zA-Z-]+)=")([^"]*)"')


def absolute_links(body: str, url: str) -> str:
    """The body HTML with its relative `href` and `src` values resolved against `url`."""

    def resolve(attribute: re.Match[str]) -> str:
        start, name, value = attribute.groups()
        value = html.unescape(value)
        if name not in ("href", "src") or urlsplit(value).scheme:
            return attribute.group(0)
        return f'{start}{html.escape(urljoin(url, value))}"'

    def tag(match: re.Match[str]) -> str:
        # Attribute by attribute from the tag's name on, so a value never passes for one.
        name, attributes, end = match.groups()
        return name + _ATTRIBUTE.sub(resolve, attributes) + end

    return _LINKING_TAG.sub(tag, body)


@dataclass(frozen=True, slots=True)
class Feed:
    """One feed to render: its format, where it goes and what it lists."""

    format: str
    """`rss` or `atom`."""
    title: str
    page_path: str
    """The page the feed stands for."""
    path: str
    articles: tuple[Article, ...]
    """The newest `feeds.items` articles, newest first."""


def plan_feeds(site: Site) -> tuple[Feed, ...]:
    """The site's RSS and Atom feeds, and an RSS feed for every topic and source."""
    title, items = site.config.title, site.config.feeds.items
    feeds = [
        Feed("rss", title, "", "feed.xml", site.articles[:items]),
        Feed("atom", title, "", "atom.xml", site.articles[:items]),
    ]
    for group in (*site.topics, *site.sources):
        name = f"{group.name} · {title}"
        feeds.append(Feed("rss", name, group.path, group.feed_path, group.articles[:items]))
    return tuple(feeds)


def render_feed(site: Site, feed: Feed, body_of: BodyOf) -> OutputFile:
    render = render_atom if feed.format == "atom" else render_rss
    return render(site, feed, body_of)


def render_rss(site: Site, feed: Feed, body_of: BodyOf) -> OutputFile:
    config = site.config
    absolute = absolute_link_to(config)
    title, page_path, feed_path, shown = feed.title, feed.page_path, feed.path, feed.articles
    rss = ET.Element("rss", {"version": "2.0", "xmlns:atom": "http://www.w3.org/2005/Atom"})
    channel = _add(rss, "channel")
    _add(channel, "title", title)
    _add(channel, "link", absolute(page_path))
    _add(channel, "description", config.description or title)
    _add(channel, "language", config.language)
    _add(channel, "generator", GENERATOR)
    if shown:
        _add(channel, "lastBuildDate", format_datetime(_newest(shown)))
    _add(channel, "atom:link", href=absolute(feed_path), rel="self", type="application/rss+xml")
    for article in shown:
        item = _add(channel, "item")
        _add(item, "title", article.title)
        _add(item, "link", absolute(article.path))
        _add(item, "guid", absolute(article.path), isPermaLink="true")
        _add(item, "pubDate", format_datetime(article.published))
        # Readers take an RSS description as HTML: the excerpt, plain text, is escaped.
        _add(
            item,
            "description",
            _content(article, config.feeds.full_content, body_of, absolute(article.path))
            or html.escape(article.excerpt, quote=False),
        )
        for topic in article.topics:
            _add(item, "category", topic.name)
    return OutputFile(feed_path, serialise_xml(rss), "RSS feed")


def render_atom(site: Site, feed: Feed, body_of: BodyOf) -> OutputFile:
    config = site.config
    absolute = absolute_link_to(config)
    title, page_path, feed_path, shown = feed.title, feed.page_path, feed.path, feed.articles
    root = ET.Element("feed", {"xmlns": "http://www.w3.org/2005/Atom", "xml:lang": config.language})
    _add(root, "title", title)
    if config.description:
        _add(root, "subtitle", config.description)
    _add(root, "id", absolute(feed_path))
    _add(root, "updated", _rfc3339(_newest(shown)) if shown else "1970-01-01T00:00:00Z")
    _add(root, "link", rel="self", href=absolute(feed_path), type="application/atom+xml")
    _add(root, "link", rel="alternate", href=absolute(page_path), type="text/html")
    _add(_add(root, "author"), "name", config.title)
    _add(root, "generator", GENERATOR)
    for article in shown:
        entry = _add(root, "entry")
        _add(entry, "title", article.title)
        _add(entry, "id", absolute(article.path))
        _add(entry, "link", rel="alternate", href=absolute(article.path), type="text/html")
        _add(entry, "published", _rfc3339(article.published))
        _add(entry, "updated", _rfc3339(article.updated or article.published))
        if article.provider:
            _add(_add(entry, "author"), "name", article.provider.name)
        for topic in article.topics:
            _add(entry, "category", term=topic.name)
        if article.excerpt:
            _add(entry, "summary", article.excerpt, type="text")
        content = _content(article, config.feeds.full_content, body_of, absolute(article.path))
        if content:
            _add(entry, "content", content, type="html")
    return OutputFile(feed_path, serialise_xml(root), "Atom feed")


def _newest(articles: tuple[Article, ...]) -> datetime:
    return max(a.updated or a.published for a in articles)


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
