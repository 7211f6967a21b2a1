"""Markup: an article body's Markdown made into safe HTML, and excerpts made from it.

Owns the Markdown dialect, the sanitiser's allow-list and plain-text excerpts. The
dialect is CommonMark with GitHub's tables, strikethrough and autolinks, rendered by
cmark-gfm (the C library behind GitHub's own Markdown). Content is hostile: every body
goes through nh3 before it reaches a page or feed.
"""

from __future__ import annotations

import bisect
import ctypes
import html
import importlib.util
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

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
    gigabytes at 100,000 articles); `to_html` frees both, as does leaving the `with` block
    of `parsed`."""

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
        self._first_child = _function(lib, "cmark_node_first_child", pointer, pointer)
        self._next = _function(lib, "cmark_node_next", pointer, pointer)
        self._type = _function(lib, "cmark_node_get_type", ctypes.c_int, pointer)
        self._start_line = _function(lib, "cmark_node_get_start_line", ctypes.c_int, pointer)
        self._literal = _function(lib, "cmark_node_get_literal", text, pointer)
        _function(lib, "cmark_gfm_core_extensions_ensure_registered", None)()
        find = _function(lib, "cmark_find_syntax_extension", pointer, text)
        self._extensions = tuple(find(name) for name in _EXTENSIONS)
        self.version: str = _function(lib, "cmark_version_string", text)().decode()
        if not all(self._extensions):
            raise ImportError("cmark-gfm lacks one of the extensions " + repr(_EXTENSIONS))

    def to_html(self, text: str) -> str:
        with self.parsed(text) as document:
            return document.html()

    def parsed(self, text: str) -> _Document:
        """The body as cmark-gfm's document tree, to render or to look into; freed on
        leaving the `with` block it opens."""
        return _Document(self, text)


_NODE_HTML_BLOCK = 0x8006
_NODES_HOLDING_BLOCKS = frozenset({0x8002, 0x8003, 0x8004, 0x800B})
"""cmark-gfm's node types (`cmark_node_type` in `cmark-gfm.h`) of a raw HTML block, and
of the blocks that hold blocks: quotes, lists, list items and footnote definitions."""


class _Document:
    """A body parsed by cmark-gfm, with the parser that made it (rendering needs its
    extensions)."""

    def __init__(self, cmark: _Cmark, text: str) -> None:
        self._cmark = cmark
        data = text.encode("utf-8")
        self._parser = cmark._new(_OPTIONS)
        try:
            for extension in cmark._extensions:
                cmark._attach(self._parser, extension)
            cmark._feed(self._parser, data, len(data))
            self._root = cmark._finish(self._parser)
        except BaseException:
            cmark._free_parser(self._parser)
            raise

    def __enter__(self) -> _Document:
        return self

    def __exit__(self, *_: object) -> None:
        self._cmark._free_node(self._root)
        self._cmark._free_parser(self._parser)

    def html(self) -> str:
        cmark = self._cmark
        rendered = cmark._render(self._root, _OPTIONS, cmark._in_use(self._parser))
        try:
            return ctypes.string_at(rendered).decode("utf-8")
        finally:
            cmark._free(rendered)

    def html_blocks(self) -> list[tuple[int, str]]:
        """Each raw HTML block, in the order of the body: the line it starts on (from 1)
        and its text, as cmark-gfm holds it (without the quote markers and indentation
        of the blocks it is in, one line for each line of the body it spans). Only blocks
        are visited, not the text in them."""
        cmark = self._cmark
        found = []
        pending = [cmark._first_child(self._root)]  # where to go on, innermost last
        while pending:
            node = pending.pop()
            while node:
                kind = cmark._type(node)
                if kind == _NODE_HTML_BLOCK:
                    literal = cmark._literal(node) or b""
                    found.append((cmark._start_line(node), literal.decode("utf-8")))
                elif kind in _NODES_HOLDING_BLOCKS:
                    pending.append(cmark._next(node))
                    node = cmark._first_child(node)
                    continue
                node = cmark._next(node)
        return found


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
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
    | {"track", "wbr"}
)
"""Elements with no end tag, which hold nothing."""
_ENDED_BY_THEIR_KIND = frozenset(
    {
        "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody",
        "tfoot", "colgroup", "rb", "rt", "rtc", "rp",
    }
)  # fmt: skip
"""Elements a parser closes at the next of their kind (`<p>one<p>two` are side by side)."""


class MarkupError(ValueError):
    """A body that cannot be made into HTML in reasonable time."""


def render_markdown(text: str) -> str:
    """Sanitised HTML for a Markdown body; `""` for an empty one. `MarkupError` if its
    elements nest deeper than `MAX_DEPTH`."""
    if not text.strip():
        return ""
    converted = _html(text)
    if converted.count("<") > MAX_DEPTH:  # else it cannot nest that deep
        depth = _depth(converted)
        if depth > MAX_DEPTH:
            raise MarkupError(
                f"the body nests {depth:,} elements deep (quotes, lists or HTML tags), "
                f"more than {MAX_DEPTH}; flatten it"
            )
    if "<" in text and _RAW_FORMATTING.search(text):  # raw HTML may leave one open
        converted = _closed_in_blocks(_PLAINTEXT.sub("", converted))
    if "<h" in converted:
        # The page's headline is its only <h1>: the body's headings move so that its
        # first level (`#`, or `##` in a body whose sections start there) is <h2>.
        converted = _with_levels_under_the_headline(_with_heading_ids(converted))
    cleaned = str(
        nh3.clean(
            converted,
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


_LINK_IN_BODY = re.compile(rf'(<a(?:\s[^\s=>]+(?:="[^"]*")?)*?\shref="#)(?!"|{_ID_PREFIX})')
"""The start of a link to a place in the body, up to its `#`: the sanitiser writes every
attribute value in double quotes, which a value never holds (text outside tags holds
no `<`), so text that looks like a link, in code say, is left alone. A bare `#`, and a
target that has the prefix already (as the sanitiser leaves such an id), stay."""
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
_SWALLOWING = frozenset(
    {
        "script", "style", "template", "math", "svg", "iframe", "textarea", "noscript",
        "title", "noembed", "noframes", "xmp", "select", "object",
    }
)  # fmt: skip
"""Elements the sanitiser drops, or whose content a parser reads as text: left open,
they would take the rest of the body with them (dropped, or shown as markup)."""
_CLOSED_HERE = _FORMATTING | _SWALLOWING
_PLAINTEXT = re.compile(r"<plaintext\b[^>]*>", re.IGNORECASE)
"""An element nothing ends: whatever follows is text."""
_CONTAINERS = frozenset(
    {
        "address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset",
        "figure", "footer", "header", "main", "nav", "ol", "section", "table", "tbody",
        "tfoot", "thead", "tr", "ul",
    }
)  # fmt: skip
"""Blocks that hold blocks: formatting opened right inside one is between blocks."""
_BLOCKS = _CONTAINERS | {
    "dd", "dt", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6", "li", "p", "pre",
    "summary", "td", "th",
}  # fmt: skip
"""Every block: those that hold blocks, and those that hold text."""
_RAW_FORMATTING = re.compile(
    rf"<(?:{'|'.join(sorted(_CLOSED_HERE | {'plaintext'}))})[\s/>]", re.IGNORECASE
)
_MARKUP = re.compile(
    r"""<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""", re.DOTALL
)


_HTML_BLOCK_KINDS = (
    r"<(?:(?P<tag>script|pre|style|textarea)(?=[\s>]|$)|(?P<comment>!--)|(?P<instruction>\?)"
    r"|(?P<cdata>!\[CDATA\[)|(?P<declaration>![A-Za-z]))"
)
"""How a raw HTML block starts that Markdown ends only at its own end marker (CommonMark's
kinds 1 to 5), however many paragraphs later, or else at the end of what holds it."""
_HTML_BLOCK = re.compile(
    r"^(?:[ \t>]|(?:[-+*]|[0-9]{1,9}[.)])(?=[ \t])|\[\^[^\]\n]*\]:)*" + _HTML_BLOCK_KINDS,
    re.IGNORECASE | re.MULTILINE,
)
"""A line that may start such a block, after the quote markers, list markers, footnote
labels and indentation of the blocks it may be in."""
_HTML_BLOCK_START = re.compile(r"[ ]{0,3}" + _HTML_BLOCK_KINDS, re.IGNORECASE)
"""Such a block's start, in the text of what holds it."""
_HTML_BLOCK_END = {
    "tag": re.compile(r"</(?:script|pre|style|textarea)>", re.IGNORECASE),
    "comment": re.compile("-->"),
    "instruction": re.compile(r"\?>"),
    "cdata": re.compile(r"\]\]>"),
    "declaration": re.compile(">"),
}
"""What ends a block of each kind, on any of its lines: for a tag, the end of any of the
four (`<pre>` ends at `</script>`, as cmark-gfm reads it)."""
_HTML_BLOCK_CLOSER = {"comment": "-->", "instruction": "?>", "cdata": "]]>", "declaration": ">"}
_CARRIAGE_RETURN = re.compile(r"\r\n?")
"""A line end cmark-gfm reads as `\n` (and renders as one)."""
_PARSES = 8
"""The most times a body is parsed to end its raw HTML blocks left open: twice for one
holding any (once to find them, and guess at those they hide; once to check), more where
a guess was wrong or ending a block changed what follows it. A hostile body could take
hundreds; past the limit, it is rendered with the ends found so far that held."""


def _html(text: str) -> str:
    """The renderer's HTML for the body, with each raw HTML block left open ended with its
    paragraph (see `_left_open`). cmark-gfm's own tree tells where such a block starts
    and ends (in quotes, list items, footnotes; never in code), so a body is parsed again
    only when it holds one left open.

    Each end added is checked on the next parse, and dropped if it ends no block there:
    one guessed may fall in code, say, or ending a block may make a later one part of
    another (when a line the block held, now in the body, starts one left open)."""
    if "<" not in text:
        return _CMARK.to_html(text)
    if "\r" in text:  # so that lines are counted as cmark-gfm counts them, by `\n` alone
        text = _CARRIAGE_RETURN.sub("\n", text)
    if all(map(_ended_on_its_line, _HTML_BLOCK.finditer(text))):
        return _CMARK.to_html(text)
    ends: dict[int, tuple[int, str]] = {}  # as `_left_open` gives them
    held: dict[int, tuple[int, str]] = {}  # those that all ended their blocks, last checked
    wrong: set[int] = set()  # lines a block was guessed, or found, to start on wrongly
    for _ in range(_PARSES):
        body = _with_ends(text, {line: marker for line, (_, marker) in ends.items()})
        with _CMARK.parsed(body) as document:
            blocks = document.html_blocks()
            spans = {first: first + literal.count("\n") - 1 for first, literal in blocks}
            missed = [line for line, (first, _) in ends.items() if spans.get(first) != line]
            if missed:
                wrong.update(ends.pop(line)[0] for line in missed)
                continue
            more = _left_open(blocks, wrong)
            if not more:
                return document.html()
            held = dict(ends)
            ends.update(more)
    return _CMARK.to_html(_with_ends(text, {line: marker for line, (_, marker) in held.items()}))


def _ended_on_its_line(start: re.Match[str]) -> bool:
    """Whether the line `start` was found on holds the end marker of the block it may
    start (as `<script async src="…"></script>`, `<!-- ad -->`, most do): then it ends
    there, if it is one."""
    body = start.string
    line_end = body.find("\n", start.end())
    before = len(body) if line_end < 0 else line_end
    return bool(_HTML_BLOCK_END[start.lastgroup or ""].search(body, start.end(), before))


def _left_open(blocks: list[tuple[int, str]], wrong: set[int]) -> dict[int, tuple[int, str]]:
    """Where to end each raw HTML block that runs past its first paragraph (a `<script>`,
    `<style>`, `<pre>` or `<textarea>` line never closed, an unclosed `<!--`, `<?`,
    `<![CDATA[` or `<!DOCTYPE`), by the line of the body to add its end marker to: the
    line the block starts on, and the marker. Markdown ends such a block only at its
    marker, or else at the end of what holds it, so every later paragraph would be
    dropped by the sanitiser or shown as markup.

    Then, guessed, the same for the blocks that the lines it holds past its first
    paragraph would start (but on the lines in `wrong`): a block left open hides those
    after it in what holds it, one of which may hide the next, and so on: guessed, a
    body of many is parsed twice rather than once for each. `blocks` are the body's raw
    HTML blocks, as `_Document.html_blocks` gives them."""
    ends: dict[int, tuple[int, str]] = {}
    for first, literal in blocks:
        start = _HTML_BLOCK_START.match(literal)
        if start is None:
            continue  # a block a blank line ends
        held = _Held(literal)
        last, after = held.end(0, start, True)
        if last is None:
            continue
        ends[first + last] = (first, _closer(start))
        to_their_end = not _HTML_BLOCK_END[start.lastgroup or ""].search(held.lines[-1])
        while after < len(held.lines):
            start = _HTML_BLOCK_START.match(held.lines[after])
            if start is None or first + after in wrong:
                after += 1
                continue
            begins = after
            last, after = held.end(after, start, to_their_end)
            if last is not None:
                ends[first + last] = (first + begins, _closer(start))
    return ends


class _Held:
    """The lines of a raw HTML block, as cmark-gfm holds them (one for each line of the
    body it spans, without the quote markers and indentation of the blocks it is in),
    with where its blank lines are, and the end markers of each kind: a block of
    thousands of lines is looked into for thousands of blocks."""

    def __init__(self, literal: str) -> None:
        self.lines = literal.removesuffix("\n").split("\n")
        self._blank = [n for n, line in enumerate(self.lines) if not line.strip(" \t")]
        self._blank.append(len(self.lines))  # as a paragraph ends at the end of the lines
        self._marked: dict[str, list[int]] = {}

    def end(self, at: int, start: re.Match[str], to_their_end: bool) -> tuple[int | None, int]:
        """Where a raw HTML block starting at line `at` (with `start`) is to be ended: the
        last line of its paragraph, or `None` to leave it as written; and the line after
        it. A marker many paragraphs on (`</script>` in a code span, any `>` after a
        declaration) is the body's text, not the block's end; a block that runs over
        blank lines to its marker, which starts or ends its line or is followed only by
        more HTML (a `<pre>` holding blank lines up to `</pre>`, a comment over paragraphs,
        `</script> Caption`), is left as written. Past the last line, the block goes on
        unless the lines run `to_their_end` (of what holds them)."""
        kind = start.lastgroup or ""
        end = _HTML_BLOCK_END[kind]
        if kind not in self._marked:
            self._marked[kind] = [n for n, line in enumerate(self.lines) if end.search(line)]
        blank = self._blank[bisect.bisect_left(self._blank, at + 1)]
        marks = self._marked[kind]
        index = bisect.bisect_left(marks, at)
        if index == len(marks):
            return (blank - 1, blank) if to_their_end else (None, len(self.lines))
        marked = marks[index]
        if marked < blank:
            return None, marked + 1  # ended as written, in its paragraph
        line = self.lines[marked]
        marker = end.search(line)
        rest = line[marker.end() :].lstrip() if marker else ""
        first = marker is not None and not line[: marker.start()].strip()
        if kind != "declaration" and (first or not rest or rest.startswith("<")):
            return None, marked + 1
        return blank - 1, blank


def _closer(start: re.Match[str]) -> str:
    """The end marker of the raw HTML block that starts with `start`."""
    return _HTML_BLOCK_CLOSER.get(start.lastgroup or "") or f"</{start['tag'].lower()}>"


def _with_ends(text: str, ends: dict[int, str]) -> str:
    """The body with each of `ends` added at the end of its line (from 1)."""
    if not ends:
        return text
    lines = text.split("\n")
    for line, marker in ends.items():
        lines[line - 1] += marker
    return "\n".join(lines)


def _closed_in_blocks(converted: str) -> str:
    """The renderer's HTML with each formatting element left open (raw HTML such as
    `<b>` or a link never closed, or written `<b/>`, which parsers open) closed before
    a parser reads it: one opened in a paragraph, item, heading or cell at its end;
    one opened between blocks (in a line of raw HTML, at the top or in a quote) and
    never closed, before the next block. One opened between blocks and closed later,
    around several paragraphs, is left as written."""
    stack: list[tuple[bool, str, int]] = []  # (is a block, name, where), innermost last
    blocks: list[str] = []  # the blocks open, innermost last
    insert: list[tuple[int, str]] = []
    loose: dict[tuple[str, int], int | None] = {}
    """Formatting opened between blocks and not closed (yet), with where the next block
    tag after it starts."""
    for tag in _MARKUP.finditer(converted):
        closing, name = tag.group(1), tag.group(2)
        if name is None:
            continue  # a comment
        name = name.lower()
        if name in _BLOCKS:
            for opened, before in loose.items():
                if before is None:
                    loose[opened] = tag.start()
            if not closing:
                stack.append((True, name, tag.start()))
                blocks.append(name)
                continue
            if name not in blocks:
                continue
            unclosed = []
            while stack[-1][:2] != (True, name):
                block, inner, where = stack.pop()
                if block:
                    blocks.pop()
                elif (inner, where) not in loose:  # else closed where the next block starts
                    unclosed.append(f"</{inner}>")
            stack.pop()
            blocks.pop()
            if unclosed:
                insert.append((tag.start(), "".join(unclosed)))
        elif name in _CLOSED_HERE:
            if closing:
                _close(stack, loose, name)
                continue
            if not blocks or blocks[-1] in _CONTAINERS:
                loose[name, tag.start()] = None
            stack.append((False, name, tag.start()))
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
    current block; else one opened between blocks, wherever it is closed."""
    for index in range(len(stack) - 1, -1, -1):
        block, opened, where = stack[index]
        if block:
            break
        if opened == name:
            del stack[index]
            loose.pop((name, where), None)
            return
    for index in range(len(stack) - 1, -1, -1):
        block, opened, where = stack[index]
        if not block and opened == name and (name, where) in loose:
            del stack[index]
            del loose[name, where]
            return


def _complete(html: str) -> str:
    """The sanitised HTML made valid where the sanitiser leaves it short: an image
    without an address is dropped, one without a text alternative gets an empty one
    (decorative), and a link without an address keeps only its text."""
    if "<img" in html:
        html = _IMAGE.sub(_image, html)
    if "<a" in html:
        html = _LINK_WITHOUT_HREF.sub(_unlinked, html)
        html = _LINK.sub(_named, html)
    if ' id="' in html:
        html = _valid_ids(html)
    return html


_ID = re.compile(r'\sid="([^"]*)"')
_ID_IN_TAG = re.compile(r'(<[a-z][^\s>]*(?:\s[^\s=>]+(?:="[^"]*")?)*?)\sid="([^"]*)"')
"""An id in a start tag, with the tag up to it: the sanitiser writes every attribute value
in double quotes, which a value never holds, so text that looks like an id is not one."""


def _valid_ids(html: str) -> str:
    """Ids as HTML allows them: none empty, none holding a space (each run of spaces is
    a `-`), each once (the first element with an id keeps it, as a link goes to the
    first; later ones lose theirs)."""
    seen: set[str] = set()

    def valid(match: re.Match[str]) -> str:
        before, value = match.groups()
        value = _SPACES.sub("-", value)
        if value == _ID_PREFIX or value in seen:
            return before
        seen.add(value)
        return f'{before} id="{value}"'

    return _ID_IN_TAG.sub(valid, html)


_LINK = re.compile(r'<a((?:\s[^\s=>]+(?:="[^"]*")?)*)>(.*?)</a>', re.DOTALL)
"""A link, its attributes and its content (the sanitiser writes every attribute value in
double quotes, which a value never holds, and never nests a link in a link)."""
_ALT_TEXT = re.compile(r'<img\b[^>]*\salt="[^"]')
_HREF = re.compile(r'\shref="([^"]*)"')


def _named(match: re.Match[str]) -> str:
    """A link as a screen reader can name it: one showing nothing (`[](url)`) shows its
    address; one showing only images without alt text is labelled with its host."""
    attributes, content = match.groups()
    if "<" not in content and content.strip():  # text alone: most links, at once
        return match.group(0)
    if plain_text(content).strip() or _ALT_TEXT.search(content):
        return match.group(0)
    found = _HREF.search(attributes)
    address = found.group(1) if found else ""
    if not address:
        return match.group(0)
    if "<img" not in content:
        return f"<a{attributes}>{address}</a>"
    host = urlsplit(html.unescape(address)).hostname or address
    return f'<a{attributes} aria-label="{html.escape(host)}">{content}</a>'


def _unlinked(match: re.Match[str]) -> str:
    """A link without an address as its text; one with an id (`<a id="top">`, a place
    to link to) as a span keeping it."""
    named = _ID.search(match.group(0).partition(">")[0])
    text = match.group(1)
    return f'<span id="{named.group(1)}">{text}</span>' if named else text


def _image(match: re.Match[str]) -> str:
    tag = match.group(0)
    if ' src="' not in tag:
        return ""
    return tag if ' alt="' in tag else f'<img alt=""{tag[4:]}'


def _depth(fragment: str) -> int:
    """How deep the fragment's elements nest, counting open tags not yet closed; an end
    tag closes every element opened inside its own (as a paragraph's end closes a `<b>`
    left open in it)."""
    stack: list[str] = []
    open_by_name: dict[str, int] = {}
    deepest = 0

    def close(name: str) -> None:
        while True:  # each element is closed once: linear in all
            inner = stack.pop()
            open_by_name[inner] -= 1
            if inner == name:
                return

    for closing, name, _ in _ELEMENT.findall(fragment):
        name = name.lower()
        if name in _VOID:  # a `/>` on any other closes nothing: parsers open `<b/>`
            continue
        if not closing:
            if name in _ENDED_BY_THEIR_KIND and open_by_name.get(name):
                close(name)
            stack.append(name)
            open_by_name[name] = open_by_name.get(name, 0) + 1
            deepest = max(deepest, len(stack))
        elif open_by_name.get(name):
            close(name)
    return deepest


_PLAIN_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>", re.DOTALL)


def _anchor(text: str) -> str:
    """A heading's text as GitHub makes it an anchor: lower case, letters, marks, digits,
    `_` and `-` kept, each space a `-`, the rest dropped."""
    kept = (c for c in text.lower() if c in "-_ " or unicodedata.category(c)[0] in "LMN")
    return "".join(kept).replace(" ", "-")


def _with_heading_ids(converted: str) -> str:
    """Headings the renderer wrote given ids made from their text, as GitHub gives them
    (`## Road ahead` is `#road-ahead`; a second one `#road-ahead-1`), so a body can
    link to its sections; the sanitiser then prefixes them as every id. An id the body
    has already (its own, a footnote's) is not given again: the heading's is numbered."""
    taken = {_unprefixed(found) for found in _ID.findall(converted)}
    seen: dict[str, int] = {}

    def with_id(match: re.Match[str]) -> str:
        level, inner = match.groups()
        base = _anchor(html.unescape(_TAG.sub("", inner)))
        if not base:
            return match.group(0)
        number = seen.get(base, 0)
        anchor = f"{base}-{number}" if number else base
        while anchor in taken:
            number += 1
            anchor = f"{base}-{number}"
        seen[base] = number + 1
        taken.add(anchor)
        return f'<h{level} id="{anchor}">{inner}</h{level}>'

    return _PLAIN_HEADING.sub(with_id, converted)


def _unprefixed(found: str) -> str:
    """An id as a heading's would be written before the sanitiser prefixes it."""
    return found.removeprefix(_ID_PREFIX)


def _with_levels_under_the_headline(converted: str) -> str:
    """Every heading moved by as many levels as puts the body's highest at <h2> (and
    none past <h6>), so no level is skipped below the page's <h1>."""
    found = _HEADING.findall(converted)
    if not found:
        return converted
    shift = 2 - min(int(level) for _, level, _ in found)

    def moved(match: re.Match[str]) -> str:
        closing, level, after = match.groups()
        return f"<{closing}h{min(int(level) + shift, 6)}{after}"

    return _HEADING.sub(moved, converted)


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
    paragraphs = (plain_text(match.group(1)) for match in _PARAGRAPH.finditer(body_html))
    text = next((t for t in paragraphs if t.strip()), "")  # not a no-break space alone
    if len(text) <= limit:
        return text
    # At the last space near the limit; or, in a script written without spaces
    # (Japanese, Chinese, Thai) or within a long word, at the limit.
    space = text.rfind(" ", 0, limit + 1)
    end = space if space >= limit // 2 else _whole_characters(text, limit)
    return text[:end].rstrip(_CLAUSE_ENDS) + "…"


_CLAUSE_ENDS = ",;:.\u3001\u3002\uff0c"
"""Punctuation an excerpt's cut drops before its `…` (with the ideographic comma and full
stop, and the full-width comma)."""


def _whole_characters(text: str, end: int) -> int:
    """`end`, moved back so that `text[:end]` splits no character from its marks, no
    emoji sequence (joined by ZWJ, with a skin tone or a variation selector) and no
    flag (a pair of regional indicators)."""
    while 0 < end < len(text) and (_extends(text[end]) or text[end - 1] == "\u200d"):
        end -= 1
    indicators = 0
    while end - indicators > 0 and "\U0001f1e6" <= text[end - 1 - indicators] <= "\U0001f1ff":
        indicators += 1
    return end - indicators % 2


def _extends(char: str) -> bool:
    """Whether `char` belongs with the character before it."""
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char in "\u200d\ufe0e\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin tones
        or "\U000e0020" <= char <= "\U000e007f"  # tags, in the flags of regions
    )
