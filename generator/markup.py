"""Markup: an article body's Markdown made into safe HTML, and excerpts made from it.

Owns the Markdown dialect, the sanitiser's allow-list and plain-text excerpts. The
dialect is CommonMark with GitHub's tables, strikethrough and autolinks, rendered by
cmark-gfm (the C library behind GitHub's own Markdown). Content is hostile: every body
goes through nh3 before it reaches a page or feed.
"""

from __future__ import annotations

import html
import re

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

EXCERPT_LENGTH = 300

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
    "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)
_HEADING = re.compile(r"<(/?)h([1-6])(\s|>)")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


_EXTENSIONS = ["table", "strikethrough", "autolink"]
_OPTIONS = Options.CMARK_OPT_UNSAFE
"""Raw HTML is passed on to nh3, which keeps the allowed tags and drops the rest, rather
than replaced by a comment."""


def render_markdown(text: str) -> str:
    """Sanitised HTML for a Markdown body; `""` for an empty one."""
    if not text.strip():
        return ""
    converted = cmarkgfm.markdown_to_html_with_extensions(
        text, options=_OPTIONS, extensions=_EXTENSIONS
    )
    # The page's headline is its only <h1>: body headings move one level down.
    raw = _HEADING.sub(_demote, converted)
    return str(
        nh3.clean(
            raw,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer",
        )
    )


def _demote(match: re.Match[str]) -> str:
    closing, level, after = match.groups()
    return f"<{closing}h{min(int(level) + 1, 6)}{after}"


def plain_text(fragment: str) -> str:
    """Text of an HTML fragment with tags dropped and whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub("", _BREAK.sub(" ", fragment))).split())


def derive_excerpt(body_html: str, limit: int = EXCERPT_LENGTH) -> str:
    """The first paragraph of a body as plain text, cut at a word near `limit`."""
    match = _PARAGRAPH.search(body_html)
    if match is None:
        return ""
    text = plain_text(match.group(1))
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"
