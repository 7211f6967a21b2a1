"""Front matter: splits an article's text into a YAML mapping and a Markdown body.

Owns decoding (UTF-8, BOM, CRLF/CR), the `---` fences, YAML parsing with line
numbers, and finding the line of a key. Knows nothing about what the keys mean.

The text is hostile, so this stage also refuses what no article should hold (NUL
bytes, UTF-16, duplicate keys, aliases that expand without bound, nesting too deep
to handle) and removes characters that no HTML page or XML feed may carry (C0 and C1
control characters other than tab and line ends, and Unicode non-characters), with
a warning naming the line or key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from generator.config import yaml_hint

MAX_DEPTH = 50
"""Deepest nesting of lists and mappings accepted in front matter."""
MAX_VALUES = 100_000
"""Most values front matter may expand to through aliases (`*name`)."""

Note = tuple[int | None, str]
"""A problem found in a file: its line (1-based, if known) and the message."""


class FrontMatterError(Exception):
    """The text has no usable front matter; `line` is 1-based within the file.

    `problems` holds every problem found, the first being (`line`, `message`).
    """

    def __init__(self, line: int | None, message: str, more: tuple[Note, ...] = ()) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.problems: tuple[Note, ...] = ((line, message), *more)


_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(1, 17)
)
_CONTROLS = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_NONCHARACTERS}\ud800-\udfff]")
"""Characters an HTML page or XML feed may not carry: C0 controls except tab and line
ends, DEL, C1 controls, non-characters and lone surrogates."""
_BMP_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff]"
)
"""`_CONTROLS` without the non-characters beyond U+FFFF, which make it several times
slower to search with."""
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _controls(text: str) -> re.Pattern[str]:
    """The pattern that finds every control character in `text`, the faster if it will."""
    if text.isascii() or _ASTRAL.search(text) is None:
        return _BMP_CONTROLS
    return _CONTROLS


def find_controls(text: str) -> list[str]:
    return _controls(text).findall(text)


def strip_controls(text: str) -> str:
    return _controls(text).sub("", text)


def _describe(found: list[str]) -> str:
    names = sorted({f"U+{ord(c):04X}" for c in found})
    shown = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
    return f"{len(found)} control character{'s' if len(found) != 1 else ''} ({shown})"


class _Loader(yaml.CSafeLoader):
    """The C safe loader without YAML 1.1 timestamps, noting duplicate keys.

    Dates stay strings so the schema parses them itself and reports a bad one
    (`2023-02-30`) against its key instead of as a YAML error. PyYAML keeps the last
    of two equal keys silently; this loader notes each, so the file can be fixed.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []
        self.last_node: yaml.Node | None = None
        """The node constructed last: where a value Python cannot hold is written."""

    # PyYAML's C parser calls these three for every node. This loader has no path
    # resolvers, so they come down to the implicit resolvers (or nothing) in fewer steps.
    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, pattern in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if pattern.match(value):
                        return str(tag)
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node: yaml.Node | None, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        self.last_node = node
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self._note_duplicates(node)
        return super().construct_mapping(node, deep=deep)

    def construct_plain(self, node: yaml.Node) -> Any:
        """The value of a document without anchors, built directly from its nodes when
        it uses only the core tags (strings, numbers, booleans, null, lists and mappings
        keyed by those); `_Unusual` for anything else, which `construct_document` then
        builds as PyYAML does, errors and all."""
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            if tag == _STR:
                return node.value
            if tag in _PLAIN_SCALARS:
                return self.yaml_constructors[tag](self, node)
        elif isinstance(node, yaml.SequenceNode) and tag == _SEQ:
            return [self.construct_plain(child) for child in node.value]
        elif isinstance(node, yaml.MappingNode) and tag == _MAP:
            self._note_duplicates(node)
            data = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag not in _KEY_TAGS:
                    raise _Unusual
                data[self.construct_plain(key)] = self.construct_plain(value)
            return data
        raise _Unusual

    def _note_duplicates(self, node: yaml.MappingNode) -> None:
        seen: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key, line = (key_node.tag, key_node.value), key_node.start_mark.line
            if key in seen:
                first = seen[key] + _FIRST_YAML_LINE
                message = f"duplicate key '{key_node.value}' (first set at line {first})"
                self.duplicates.append((line, f"{message}; keep one of them"))
            else:
                seen[key] = line


class WrittenInt(int):
    """A whole number as the file wrote it, for a key that wants text: YAML reads
    `0123`, `0x1F`, `1_000` and `12:30` as numbers, which `written` keeps."""

    written: str


class WrittenFloat(float):
    """A number with a fraction as the file wrote it: `1.10` is not `1.1` in a title."""

    written: str


def _written(kind: type[WrittenInt] | type[WrittenFloat], tag: str) -> Any:
    read = yaml.CSafeLoader.yaml_constructors[tag]

    def construct(loader: yaml.CSafeLoader, node: yaml.ScalarNode) -> Any:
        number = kind(read(loader, node))
        number.written = node.value
        return number

    return construct


_PLAIN_NUMBER = re.compile(r"[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?", re.ASCII)
"""A number as a reader expects one: YAML reads others too (`0123` as 83, `12:30` as 750)."""


def _read_otherwise(written: str) -> bool:
    """Whether YAML read a number from text a reader would not take for that number:
    not in plain digits (`0x1F`, `12:30`, `1_000`), or with a leading zero (`0123`)."""
    if not _PLAIN_NUMBER.fullmatch(written):
        return True
    digits = written.lstrip("+-")
    return digits[:1] == "0" and digits[1:2].isdigit()


def plain_numbers(value: Any) -> Any:
    """`value` with the numbers in it as plain `int` and `float` (which is how articles
    keep what they hold, and the cache stores it); a number YAML read from another form
    (`0x1F`, `0123`, `12:30`, `1_000`) is kept as the text written."""
    if isinstance(value, WrittenInt | WrittenFloat):
        if _read_otherwise(value.written):
            return value.written
        return int(value) if isinstance(value, WrittenInt) else float(value)
    if isinstance(value, dict):
        return {plain_numbers(k): plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_numbers(v) for v in value]
    return value


class _Unusual(Exception):
    """A node `_Loader.construct_plain` leaves to PyYAML's constructor."""


_STR, _SEQ, _MAP = (f"tag:yaml.org,2002:{name}" for name in ("str", "seq", "map"))
_PLAIN_SCALARS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null"))
_KEY_TAGS = _PLAIN_SCALARS | {_STR}


for _tag, _kind in (("int", WrittenInt), ("float", WrittenFloat)):
    _name = f"tag:yaml.org,2002:{_tag}"
    _Loader.add_constructor(_name, _written(_kind, _name))

_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}

_TOML_LINE = re.compile(r"^[ \t]*[\w.-]+[ \t]*=[ \t]*\S", re.MULTILINE)
_FENCE = re.compile(r"^---[ \t]*$")
_CLOSING_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")
_FIRST_YAML_LINE = 2


@dataclass(frozen=True, slots=True)
class FrontMatter:
    data: dict[str, Any]
    body: str
    yaml_text: str
    first_line: int
    """File line of the first YAML line (the line after the opening `---`)."""
    notes: tuple[Note, ...] = ()
    """Warnings: what was removed from the text, and where."""
    key_lines: Mapping[str, int] = field(default_factory=dict)
    """The line (from 0, in `yaml_text`) of each top-level key, as YAML found it."""
    item_lines: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """The line (from 0, in `yaml_text`) of each item of each top-level key holding a
    list, as YAML found it."""

    @property
    def body_line(self) -> int:
        """File line where the body starts (the line after the closing `---`)."""
        return self.first_line + len(self.yaml_text.split("\n")) + 1

    def line_of(self, key: str, item: int | None = None) -> int | None:
        """File line where top-level `key` is written, or its list's `item` (from 0), if
        it can be found: at the start of a line, else (front matter written as JSON,
        or indented) after a `{`, a comma or spaces."""
        items = self.item_lines.get(key, ())
        if item is not None and 0 <= item < len(items):
            return self.first_line + items[item]
        if key in self.key_lines:
            return self.first_line + self.key_lines[key]
        name = r"""(["']?)""" + re.escape(key) + r"""\1[ \t]*:"""
        lines = self.yaml_text.split("\n")
        for pattern in (re.compile("^" + name), re.compile(r"(?:^|[{,])[ \t]*" + name)):
            for offset, line in enumerate(lines):
                if pattern.search(line):
                    return self.first_line + offset
        return None


def decode(raw: bytes) -> str:
    """UTF-8 text with a BOM dropped and line ends made `\\n`; `FrontMatterError` if the
    bytes are not UTF-8 text."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(raw):
        raise FrontMatterError(1, "the file is UTF-16 text; save it as UTF-8")
    nul = raw.find(b"\0")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise FrontMatterError(
            line, "contains a NUL byte: this is a binary file, not text; save it as UTF-8 text"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start]
        raise FrontMatterError(
            line, f"not valid UTF-8 (byte 0x{byte:02x}); save the file as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")
    if text.startswith("\ufeff"):
        raise FrontMatterError(1, "the file starts with two byte order marks; remove one")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _utf16_without_bom(raw: bytes) -> bool:
    """Whether the bytes look like UTF-16 text saved without its byte order mark: `---`
    written with a NUL byte before or after each character."""
    return raw.startswith((b"-\0-\0-\0", b"\0-\0-\0-"))


def split(text: str) -> FrontMatter:
    """Parse decoded text into front matter and body; `FrontMatterError` when it can't."""
    notes: list[Note] = []
    controls = _controls(text)
    found = controls.findall(text)
    if found:
        first = controls.search(text)
        line = text.count("\n", 0, first.start()) + 1 if first else None
        notes.append((line, f"removed {_describe(found)}, the first here; delete them"))
        text = strip_controls(text)
    if not text.strip():
        raise FrontMatterError(
            1,
            "no front matter: the file is empty; start it with a '---' line, then "
            "title and publishedDateTime, then a '---' line",
        )
    lines = text.split("\n")
    if not _FENCE.match(lines[0]):
        if lines[0].rstrip() == "+++":
            raise FrontMatterError(
                1, "front matter in TOML ('+++') is not read; write it in YAML between '---' lines"
            )
        raise FrontMatterError(1, "no front matter: the file must start with a '---' line")
    for index in range(1, len(lines)):
        if _CLOSING_FENCE.match(lines[index]):
            break
    else:
        raise FrontMatterError(1, "front matter is not closed: add a '---' line after the last key")
    yaml_text = "\n".join(lines[1:index])
    body = "\n".join(lines[index + 1 :])
    data, key_lines, item_lines = _load_yaml(yaml_text)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        if _TOML_LINE.search(yaml_text):
            raise FrontMatterError(
                _FIRST_YAML_LINE,
                "front matter in TOML ('key = value') is not read; write YAML ('key: value')",
            )
        raise FrontMatterError(
            _FIRST_YAML_LINE, "front matter must be a mapping of key: value lines"
        )
    front = FrontMatter(
        data={str(k): v for k, v in data.items()},
        body=body,
        yaml_text=yaml_text,
        first_line=_FIRST_YAML_LINE,
        notes=tuple(notes),
        key_lines=key_lines,
        item_lines=item_lines,
    )
    if "\\" not in yaml_text:
        # The text holds no control character any more: only a backslash escape in a
        # quoted value could make one.
        return front
    cleaned: dict[str, Any] = {}
    for key, value in front.data.items():
        removed = find_controls(key)
        cleaned[strip_controls(key)] = _clean(value, removed)
        if removed:
            notes.append(
                (
                    front.line_of(key),
                    f"{strip_controls(key)}: removed {_describe(removed)}; "
                    "delete them from the value",
                )
            )
    return replace(front, data=cleaned, notes=tuple(notes))


def _clean(value: Any, removed: list[str]) -> Any:
    """`value` with control characters removed from every string in it."""
    if isinstance(value, str):
        found = find_controls(value)
        if not found:
            return value
        removed.extend(found)
        return strip_controls(value)
    if isinstance(value, dict):
        return {_clean(k, removed): _clean(v, removed) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, removed) for v in value]
    return value


_YAML_BREAKS = "\x85\u2028\u2029"
"""Characters YAML takes for line breaks, though no editor shows them so: in a value
they would end its line (or fold into a space), and every line after would be
numbered one too many."""


_Loaded = tuple[Any, dict[str, int], dict[str, tuple[int, ...]]]
"""A YAML document, the line (from 0) of each of its keys, and of the items of its lists."""


def _load_yaml(yaml_text: str) -> _Loaded:
    """The YAML document and the lines of its keys and items, or `FrontMatterError`
    naming the line and the fix. NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR are read
    as the characters they are, not as line breaks."""
    if not any(c in yaml_text for c in _YAML_BREAKS):
        return _load_plain_yaml(yaml_text)
    free = (chr(c) for c in range(0xE000, 0xF900) if chr(c) not in yaml_text)
    stand_in = {ord(c): next(free) for c in _YAML_BREAKS}
    back = str.maketrans({v: chr(k) for k, v in stand_in.items()})
    data, lines, items = _load_plain_yaml(yaml_text.translate(stand_in))
    keys = {k.translate(back): n for k, n in lines.items()}
    return _translated(data, back), keys, {k.translate(back): n for k, n in items.items()}


def _translated(value: Any, table: dict[int, str]) -> Any:
    """`value` with every string in it (keys too) translated by `table`."""
    if isinstance(value, str):
        return value.translate(table)
    if isinstance(value, dict):
        return {_translated(k, table): _translated(v, table) for k, v in value.items()}
    if isinstance(value, list):
        return [_translated(v, table) for v in value]
    return value


_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)
"""A character beyond the Basic Multilingual Plane escaped as JSON writes it (an emoji
as `\\ud83d\\ude00`), which YAML refuses: it wants `\\U0001f600`."""


def _load_plain_yaml(yaml_text: str) -> _Loaded:
    """The document and its keys' and items' lines; if YAML refuses it and its double-quoted values
    hold characters escaped as JSON writes them (`_SURROGATE_PAIR`), read again with
    those escapes joined."""
    try:
        return _load_yaml_as_written(yaml_text)
    except FrontMatterError:
        joined = _DOUBLE_QUOTED.sub(lambda m: _SURROGATE_PAIR.sub(_joined, m.group()), yaml_text)
        if joined == yaml_text:
            raise
    return _load_yaml_as_written(joined)


_DOUBLE_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
"""A double-quoted value (where YAML reads escapes), or text that looks like one."""


def _joined(pair: re.Match[str]) -> str:
    high, low = (int(half, 16) for half in pair.groups())
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"


def _load_yaml_as_written(yaml_text: str) -> _Loaded:
    loader = _Loader(yaml_text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, {}
        if _may_exceed_limits(yaml_text):
            _check_shape(node)
        data = _construct(loader, node, plain="&" not in yaml_text)
        lines, items = _key_lines(node)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, yaml_text) from None
    except yaml.reader.ReaderError as exc:
        line = yaml_text.count("\n", 0, exc.position) + _FIRST_YAML_LINE
        raise FrontMatterError(
            line,
            f"invalid YAML: character U+{exc.character:04X} is not allowed; delete it"
            if isinstance(exc.character, int)
            else f"invalid YAML: {exc.reason}; delete it",
        ) from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(_FIRST_YAML_LINE, f"invalid YAML: {exc}") from None
    except FrontMatterError:
        raise
    except Exception as exc:
        # Values YAML accepts but Python cannot hold, e.g. an integer of 5,000 digits
        # or `!!bool maybe`.
        reason = str(exc).split(";")[0] or type(exc).__name__
        node = loader.last_node
        line = _FIRST_YAML_LINE + (node.start_mark.line if node is not None else 0)
        raise FrontMatterError(
            line,
            f"invalid YAML value ({reason}); put the value in quotes, or remove its '!!' tag",
        ) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        found = sorted(loader.duplicates)
        (line, message), *more = [(line + _FIRST_YAML_LINE, m) for line, m in found]
        raise FrontMatterError(line, message, tuple(more))
    return data, lines, items


def _key_lines(node: yaml.Node) -> tuple[dict[str, int], dict[str, tuple[int, ...]]]:
    """The line (from 0) of each key of a mapping document, as written; and of each
    item of those whose value is a list."""
    if not isinstance(node, yaml.MappingNode):
        return {}, {}
    keys = [
        (key.value, key.start_mark.line, value)
        for key, value in node.value
        if isinstance(key, yaml.ScalarNode) and key.value not in ("<<",)
    ]
    items = {
        name: tuple(item.start_mark.line for item in value.value)
        for name, _, value in keys
        if isinstance(value, yaml.SequenceNode)
    }
    return {name: line for name, line, _ in keys}, items


def _construct(loader: _Loader, node: yaml.Node, plain: bool) -> Any:
    """The document's value; built directly when it is `plain` (no anchors, so every
    node is used once) and holds only the core tags."""
    if plain:
        try:
            return loader.construct_plain(node)
        except Exception:  # `_Unusual`, or a value Python cannot hold: PyYAML's own
            loader.duplicates.clear()  # constructor builds it again, or raises the error
    return loader.construct_document(node)


def _yaml_error(exc: yaml.MarkedYAMLError, yaml_text: str) -> FrontMatterError:
    opened = exc.context_mark
    if (
        opened is not None
        and "quoted scalar" in (exc.context or "")
        and "found unexpected" in (exc.problem or "")  # the end, or a `---` line
    ):
        return FrontMatterError(
            _FIRST_YAML_LINE + opened.line,
            "invalid YAML: a quote opened on this line is never closed; close it (a ' "
            "within a value in single quotes is written '')",
        )
    mark = exc.problem_mark or exc.context_mark
    line = _FIRST_YAML_LINE + mark.line if mark is not None else _FIRST_YAML_LINE
    message = f"invalid YAML: {exc.problem or exc.context}"
    if exc.problem and exc.context and exc.context_mark is not None:
        message += f" ({exc.context} at line {_FIRST_YAML_LINE + exc.context_mark.line})"
    text_lines = yaml_text.split("\n")
    here = text_lines[mark.line] if mark is not None and mark.line < len(text_lines) else ""
    return FrontMatterError(line, f"{message}; {yaml_hint(exc.problem, here, _HINTS)}")


_HINTS = (
    ("unhashable key", "a key must be plain text: write key: value"),
    ("constructor for the tag", "remove the '!' tag before the value, or put the value in quotes"),
    ("nesting depth", f"nest lists and mappings at most {MAX_DEPTH} levels deep"),
)
"""Hints for the problems only front matter reads into (see `yaml_hint`)."""


_BLOCK_PREFIX = re.compile(r"^[ \t]*(?:[-?](?:[ \t]+|$))*", re.MULTILINE)
"""The indentation and the `- ` and `? ` markers that start a line."""


def _may_exceed_limits(yaml_text: str) -> bool:
    """False when the text is sure to nest less than `MAX_DEPTH` and expand to fewer than
    `MAX_VALUES` values, so `_check_shape` can be skipped: it has no anchors (so no
    aliases), fewer characters than `MAX_VALUES` (each value takes one at least), and
    flow brackets plus block nesting below `MAX_DEPTH`. Block nesting goes one level
    deeper at most for each column of indentation or line markers, plus one: a
    sequence may sit at its key's column."""
    if "&" in yaml_text or len(yaml_text) >= MAX_VALUES:
        return True
    columns = max((len(m) for m in _BLOCK_PREFIX.findall(yaml_text)), default=0)
    flow = yaml_text.count("[") + yaml_text.count("{")
    return 2 * (columns + 1) + flow >= MAX_DEPTH


def _check_shape(root: yaml.Node) -> None:
    """Refuse documents whose aliases recurse or expand past `MAX_VALUES` values, or
    that nest deeper than `MAX_DEPTH`. Iterative, and each node is sized once."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            line = node.start_mark.line + _FIRST_YAML_LINE
            if depth[key] > MAX_DEPTH:
                raise FrontMatterError(
                    line,
                    f"front matter is nested more than {MAX_DEPTH} levels deep; flatten the value",
                )
            if size[key] > MAX_VALUES:
                raise FrontMatterError(
                    line,
                    f"aliases expand to more than {MAX_VALUES:,} values (an alias "
                    "bomb); write the values out instead of repeating '*' aliases",
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise FrontMatterError(
                node.start_mark.line + _FIRST_YAML_LINE,
                "an alias refers to the value that holds it (a loop); remove the '*' alias",
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []
