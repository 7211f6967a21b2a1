"""Front matter: splits an article's text into a YAML mapping and a Markdown body.

Owns decoding (UTF-8, BOM, CRLF/CR), the `---` fences, YAML parsing with line
numbers, and finding the line of a key. Knows nothing about what the keys mean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml


class FrontMatterError(Exception):
    """The text has no usable front matter; `line` is 1-based within the file."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Loader(yaml.CSafeLoader):
    """The C safe loader without YAML 1.1 timestamps.

    Dates stay strings so the schema parses them itself and reports a bad one
    (`2023-02-30`) against its key instead of as a YAML error.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}

_FENCE = re.compile(r"^---[ \t]*$")
_CLOSING_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


@dataclass(frozen=True, slots=True)
class FrontMatter:
    data: dict[str, Any]
    body: str
    yaml_text: str
    first_line: int
    """File line of the first YAML line (the line after the opening `---`)."""

    def line_of(self, key: str) -> int | None:
        """File line where top-level `key` is written, if it can be found."""
        pattern = re.compile(r"""^(["']?)""" + re.escape(key) + r"""\1[ \t]*:""")
        for offset, line in enumerate(self.yaml_text.split("\n")):
            if pattern.match(line):
                return self.first_line + offset
        return None


def decode(raw: bytes) -> str:
    """UTF-8 text with a BOM dropped and line ends made `\\n`; `FrontMatterError` if not UTF-8."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start]
        raise FrontMatterError(
            line, f"not valid UTF-8 (byte 0x{byte:02x}); save the file as UTF-8"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split(text: str) -> FrontMatter:
    """Parse decoded text into front matter and body; `FrontMatterError` when it can't."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        raise FrontMatterError(1, "no front matter: the file must start with a '---' line")
    for index in range(1, len(lines)):
        if _CLOSING_FENCE.match(lines[index]):
            break
    else:
        raise FrontMatterError(1, "front matter is not closed: add a '---' line after the last key")
    yaml_text = "\n".join(lines[1:index])
    body = "\n".join(lines[index + 1 :])
    try:
        data = yaml.load(yaml_text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = 2 + mark.line if mark is not None else 1
        message = f"invalid YAML: {exc.problem or exc.context}"
        if exc.problem and exc.context and exc.context_mark is not None:
            message += f" ({exc.context} at line {2 + exc.context_mark.line})"
        raise FrontMatterError(line, message) from None
    except yaml.YAMLError as exc:
        raise FrontMatterError(1, f"invalid YAML: {exc}") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        # Values YAML accepts but Python cannot hold, e.g. an integer of 5,000 digits.
        raise FrontMatterError(2, f"invalid YAML value: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError(2, "front matter must be a mapping of key: value")
    return FrontMatter(
        data={str(k): v for k, v in data.items()}, body=body, yaml_text=yaml_text, first_line=2
    )
