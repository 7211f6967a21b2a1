"""Markup: an article body's Markdown made into safe HTML, and excerpts made from it.

Owns the Markdown dialect, the sanitiser's allow-list and plain-text excerpts. The
dialect is CommonMark with GitHub's tables, strikethrough and autolinks, rendered by
cmark-gfm (the C library behind GitHub's own Markdown). Content is hostile: every body
goes through nh3 before it reaches a page or feed.
"""

from __future__ import annotations

import ctypes
import html
import importlib.util
import re
from collections.abc import Callable
from typing import Any

import nh3
from cmarkgfm.cmark import Options

EXCERPT_LENGTH = 300

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
    "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "section", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"id"},
    "a": {"href", "title", "aria-label"},
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
_FOOTNOTE_REF = re.compile(r'<sup class="footnote-ref">.*?</sup>', re.DOTALL)


_EXTENSIONS = (b"table", b"strikethrough", b"autolink")
_OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES
"""Raw HTML is passed on to nh3, which keeps the allowed tags and drops the rest, rather
than replaced by a comment; footnotes (`[^1]`) are read as GitHub reads them."""
_CLASSES = {"a": {"footnote-backref"}, "section": {"footnotes"}, "sup": {"footnote-ref"}}
"""The classes footnotes are marked with, for a theme to style; beside a code block's
language (`language-python`), no other class is kept."""
_ID_PREFIX = "note-"
"""Put before every `id` a body holds (footnotes', and any in its HTML), as GitHub does,
so none can take the name of one of the page's own elements; links within the body
(`#fn-1`) follow."""


class _Cmark:
    """cmark-gfm's C API, from the library the `cmarkgfm` package ships. Its Python
    wrapper never frees the document tree or the rendered HTML (about 12 KB a body, so
    gigabytes at 100,000 articles); `to_html` frees both."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("cmarkgfm._cmark")
        if spec is None or spec.origin is None:
            raise ImportError("cmarkgfm ships no compiled cmark-gfm library")
        lib = ctypes.CDLL(spec.origin)
        pointer, text = ctypes.c_void_p, ctypes.c_char_p
        self._free = _function(ctypes.CDLL(None), "free", None, pointer)
        self._new = _function(lib, "cmark_parser_new", pointer, ctypes.c_int)
        self._attach = _function(
            lib, "cmark_parser_attach_syntax_extension", ctypes.c_int, pointer, pointer
        )
        self._feed = _function(lib, "cmark_parser_feed", None, pointer, text, ctypes.c_size_t)
        self._finish = _function(lib, "cmark_parser_finish", pointer, pointer)
        self._in_use = _function(lib, "cmark_parser_get_syntax_extensions", pointer, pointer)
        self._render = _function(lib, "cmark_render_html", pointer, pointer, ctypes.c_int, pointer)
        self._free_node = _function(lib, "cmark_node_free", None, pointer)
        self._free_parser = _function(lib, "cmark_parser_free", None, pointer)
        _function(lib, "cmark_gfm_core_extensions_ensure_registered", None)()
        find = _function(lib, "cmark_find_syntax_extension", pointer, text)
        self._extensions = tuple(find(name) for name in _EXTENSIONS)
        self.version: str = _function(lib, "cmark_version_string", text)().decode()
        if not all(self._extensions):
            raise ImportError("cmark-gfm lacks one of the extensions " + repr(_EXTENSIONS))

    def to_html(self, text: str) -> str:
        data = text.encode("utf-8")
        parser = self._new(_OPTIONS)
        try:
            for extension in self._extensions:
                self._attach(parser, extension)
            self._feed(parser, data, len(data))
            root = self._finish(parser)
            try:
                rendered = self._render(root, _OPTIONS, self._in_use(parser))
                try:
                    return ctypes.string_at(rendered).decode("utf-8")
                finally:
                    self._free(rendered)
            finally:
                self._free_node(root)
        finally:
            self._free_parser(parser)


def _function(
    lib: ctypes.CDLL, name: str, result: type | None, *arguments: type
) -> Callable[..., Any]:
    function = getattr(lib, name)
    function.restype = result
    function.argtypes = arguments
    return function  # type: ignore[no-any-return]


_CMARK = _Cmark()
ENGINES = f"cmark-gfm {_CMARK.version}, nh3 {nh3.__version__}"  # type: ignore[attr-defined]
"""The libraries that turn Markdown into sanitised HTML, with their versions: a new
version may render a body differently."""


MAX_DEPTH = 512
"""Elements a body may nest one inside another. The sanitiser's time grows with the
square of the depth (10 s for 50,000 nested quotes): a deeper body is refused."""
_ELEMENT = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(/?)>")
_NOT_NESTING = frozenset(
    {
        # Void elements, and those a parser closes at the next of their kind.
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option",
        "optgroup", "thead", "tbody", "tfoot", "colgroup", "rb", "rt", "rtc", "rp",
    }
)  # fmt: skip


class MarkupError(ValueError):
    """A body that cannot be made into HTML in reasonable time."""


def render_markdown(text: str) -> str:
    """Sanitised HTML for a Markdown body; `""` for an empty one. `MarkupError` if its
    elements nest deeper than `MAX_DEPTH`."""
    if not text.strip():
        return ""
    converted = _CMARK.to_html(text)
    if converted.count("<") > MAX_DEPTH:  # else it cannot nest that deep
        depth = _depth(converted)
        if depth > MAX_DEPTH:
            raise MarkupError(
                f"the body nests {depth:,} elements deep (quotes, lists or HTML tags), "
                f"more than {MAX_DEPTH}; flatten it"
            )
    if "<" in text and _RAW_FORMATTING.search(text):  # raw HTML may leave one open
        converted = _closed_in_blocks(converted)
    if "<h" in converted:
        converted = _with_heading_ids(converted)
    # The page's headline is its only <h1>: body headings move one level down.
    raw = _HEADING.sub(_demote, converted)
    cleaned = str(
        nh3.clean(
            raw,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            allowed_classes=_CLASSES,
            id_prefix=_ID_PREFIX,
            url_schemes={"http", "https", "mailto", "tel"},
            link_rel="noopener noreferrer",
        )
    )
    if 'href="#' in cleaned:
        cleaned = _LINK_IN_BODY.sub(rf"\1{_ID_PREFIX}", cleaned)
    return _complete(cleaned)


_LINK_IN_BODY = re.compile(r'(<a(?:\s[^\s=>]+(?:="[^"]*")?)*?\shref="#)')
"""The start of a link to a place in the body, up to its `#`: the sanitiser writes every
attribute value in double quotes, which a value never holds (text outside tags holds
no `<`), so text that looks like a link, in code say, is left alone."""
_IMAGE = re.compile(r"<img\b[^>]*>")
_LINK_WITHOUT_HREF = re.compile(r'<a\b(?![^>]*\shref=")[^>]*>(.*?)</a>', re.DOTALL)
"""A link the sanitiser left without its address (a `javascript:` one, say). The
sanitiser writes every attribute value in double quotes, which a value never holds,
and never nests a link in a link."""


_FORMATTING = frozenset(
    {"a", "b", "code", "em", "i", "s", "small", "strong", "u"}
    | {"big", "font", "nobr", "strike", "tt"}  # obsolete, but pasted HTML holds them
)
"""The elements an HTML parser opens again after a block ends when they were left open
in it (the "active formatting elements"), so that an unclosed `<b>` makes the rest of
the page bold, or an unclosed link turns later text into copies of that link."""
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
        "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_RAW_FORMATTING = re.compile(rf"<(?:{'|'.join(sorted(_FORMATTING))})[\s/>]", re.IGNORECASE)
_MARKUP = re.compile(
    r"""<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""", re.DOTALL
)


def _closed_in_blocks(converted: str) -> str:
    """The renderer's HTML with each formatting element left open (raw HTML such as
    `<b>` or a link never closed) closed before a parser reads it: one opened in a
    block at the block's end, so it ends with its paragraph, item or cell; one opened
    outside any block (in a line of raw HTML) and never closed, before the next block.
    One opened outside blocks and closed later, around several paragraphs, is left
    as written."""
    stack: list[tuple[bool, str, int]] = []  # (is a block, name, where), innermost last
    blocks = 0  # of them
    insert: list[tuple[int, str]] = []
    loose: dict[tuple[str, int], int | None] = {}
    """Formatting opened outside blocks and not closed (yet), with where the next block
    tag after it starts."""
    for tag in _MARKUP.finditer(converted):
        closing, name, attributes = tag.groups()
        if name is None:
            continue  # a comment
        name = name.lower()
        if name in _BLOCKS:
            for opened, before in loose.items():
                if before is None:
                    loose[opened] = tag.start()
            if not closing:
                stack.append((True, name, tag.start()))
                blocks += 1
                continue
            if not blocks or not any(entry[:2] == (True, name) for entry in stack):
                continue
            unclosed = []
            while stack[-1][:2] != (True, name):
                block, inner, _ = stack.pop()
                if block:
                    blocks -= 1
                else:
                    unclosed.append(f"</{inner}>")
            stack.pop()
            blocks -= 1
            if unclosed:
                insert.append((tag.start(), "".join(unclosed)))
        elif name in _FORMATTING:
            if not closing:
                if not attributes.rstrip().endswith("/"):
                    if not blocks:
                        loose[name, tag.start()] = None
                    stack.append((False, name, tag.start()))
                continue
            _close(stack, loose, name)
    for (name, _), before in sorted(loose.items(), key=lambda item: -item[0][1]):
        if before is not None:
            insert.append((before, f"</{name}>"))
    if not insert:
        return converted
    parts: list[str] = []
    last = 0
    for at, text in sorted(insert, key=lambda entry: entry[0]):  # stable: inner first
        parts.extend((converted[last:at], text))
        last = at
    parts.append(converted[last:])
    return "".join(parts)


def _close(
    stack: list[tuple[bool, str, int]], loose: dict[tuple[str, int], int | None], name: str
) -> None:
    """Take the formatting element `name` as closed: the innermost one opened in the
    current block; else one opened outside any block, wherever it is closed."""
    for index in range(len(stack) - 1, -1, -1):
        block, opened, where = stack[index]
        if block:
            break
        if opened == name:
            del stack[index]
            loose.pop((name, where), None)
            return
    for index, (block, opened, where) in enumerate(stack):
        if block:
            return
        if opened == name:
            del stack[index]
            loose.pop((name, where), None)
            return


def _complete(html: str) -> str:
    """The sanitised HTML made valid where the sanitiser leaves it short: an image
    without an address is dropped, one without a text alternative gets an empty one
    (decorative), and a link without an address keeps only its text."""
    if "<img" in html:
        html = _IMAGE.sub(_image, html)
    if "<a" in html:
        html = _LINK_WITHOUT_HREF.sub(r"\1", html)
    return html


def _image(match: re.Match[str]) -> str:
    tag = match.group(0)
    if ' src="' not in tag:
        return ""
    return tag if ' alt="' in tag else f'<img alt=""{tag[4:]}'


def _depth(fragment: str) -> int:
    """How deep the fragment's elements nest, counting open tags not yet closed."""
    depth = deepest = 0
    for closing, name, self_closing in _ELEMENT.findall(fragment):
        if self_closing or name.lower() in _NOT_NESTING:
            continue
        if closing:
            depth = max(depth - 1, 0)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


_PLAIN_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>", re.DOTALL)
_NOT_IN_ANCHOR = re.compile(r"[^\w\- ]")


def _with_heading_ids(converted: str) -> str:
    """Headings the renderer wrote given ids made from their text, as GitHub gives them
    (`## Road ahead` is `#road-ahead`; a second one `#road-ahead-1`), so a body can
    link to its sections; the sanitiser then prefixes them as every id."""
    taken: dict[str, int] = {}

    def with_id(match: re.Match[str]) -> str:
        level, inner = match.groups()
        anchor = _NOT_IN_ANCHOR.sub("", plain_text(inner).lower()).replace(" ", "-")
        if not anchor:
            return match.group(0)
        seen = taken.get(anchor, 0)
        taken[anchor] = seen + 1
        if seen:
            anchor = f"{anchor}-{seen}"
        return f'<h{level} id="{anchor}">{inner}</h{level}>'

    return _PLAIN_HEADING.sub(with_id, converted)


def _demote(match: re.Match[str]) -> str:
    closing, level, after = match.groups()
    return f"<{closing}h{min(int(level) + 1, 6)}{after}"


_SPACES = re.compile(r"[ \t\n\r\f\v]+")


def plain_text(fragment: str) -> str:
    """Text of an HTML fragment with tags dropped and runs of spaces and line breaks
    made one space; other spaces (a no-break space in `10 km`) are kept as written."""
    text = html.unescape(_TAG.sub("", _BREAK.sub(" ", fragment)))
    return _SPACES.sub(" ", text).strip(" ")


def derive_excerpt(body_html: str, limit: int = EXCERPT_LENGTH) -> str:
    """The first paragraph of a body with any text (not only an image) as plain text,
    cut at a word near `limit`."""
    if "footnote-ref" in body_html:  # the numbers of footnotes are not text
        body_html = _FOOTNOTE_REF.sub("", body_html)
    text = next(
        (t for match in _PARAGRAPH.finditer(body_html) if (t := plain_text(match.group(1)))),
        "",
    )
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"
