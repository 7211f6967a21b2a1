"""Site configuration: reads and validates `site.yaml`.

Owns `SiteConfig` and its schema. Every problem in the file is reported at once,
each naming the key and line. Nothing else in the build reads `site.yaml`.
"""

from __future__ import annotations

import re
import reprlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from generator.diagnostics import BuildError, Diagnostic, error, kind_of

CONFIG_FILE = "site.yaml"
DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024
"""Largest article file read, in bytes (`max_file_size`); larger ones are set aside."""


@dataclass(frozen=True, slots=True)
class FeedSettings:
    items: int = 50
    full_content: bool = False


@dataclass(frozen=True, slots=True)
class SiteConfig:
    title: str
    base_url: str
    description: str = ""
    language: str = "en"
    timezone: str = "UTC"
    per_page: int = 20
    theme: str = "default"
    feeds: FeedSettings = field(default_factory=FeedSettings)
    hide_unpublished: bool = False
    hide_future: bool = False
    """Hide articles published after the moment of the build (embargoed stories)."""
    max_file_size: int = DEFAULT_MAX_FILE_SIZE

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def direction(self) -> str:
        """`rtl` for a language written from right to left, else `ltr`: the pages' `dir`.
        The tag's script decides when it names one (`az-Arab`, `ku-Arab` are `rtl`;
        `ar-Latn`, Arabic in Latin letters, is `ltr`), else the language does (Arabic,
        Hebrew, Persian, Urdu …)."""
        subtags = self.language.lower().split("-")
        script = _script_of(subtags)
        if script is not None:
            return "rtl" if script in _RTL_SCRIPTS else "ltr"
        return "rtl" if subtags[0] in _RTL_LANGUAGES else "ltr"

    @property
    def base_path(self) -> str:
        """The path part of `base_url`, always ending in `/` (`/` or `/news/`)."""
        return urlsplit(self.base_url).path

    def with_base_url(self, base_url: str) -> SiteConfig:
        """These settings with another `base_url` (given by `--base-url`), checked as
        `site.yaml`'s is; `BuildError` if it is not a site's address."""
        message = _check_base_url(base_url)
        if message:
            raise BuildError((error("--base-url", None, message),))
        return replace(self, base_url=normalise_base_url(base_url))


def normalise_base_url(url: str) -> str:
    """The site's address as pages, feeds and sitemaps write it: ending in `/`, in ASCII
    (a space or accent in its path percent-encoded as UTF-8, escapes already there kept;
    a host in Unicode written in IDNA, `xn--`); `UnicodeError` for a host IDNA cannot
    write."""
    parts = urlsplit(url)
    netloc = parts.netloc.lower()  # a host's case means nothing; a path's does
    if not netloc.isascii():
        netloc = idna_authority(netloc)
    path = quote(parts.path, safe="/%:@!$&'()*+,;=")
    return urlunsplit((parts.scheme, netloc, path if path.endswith("/") else path + "/", "", ""))


def idna_authority(authority: str) -> str:
    """`user@host:port` with its host written in IDNA (`bücher.example` is
    `xn--bcher-kva.example`), the user name and port as written; `UnicodeError` for a
    host IDNA cannot write."""
    userinfo, at, address = authority.rpartition("@")
    host, colon, port = address.partition(":")  # an IPv6 literal is ASCII
    return userinfo + at + host.encode("idna").decode("ascii") + colon + port


_PAGE_SUFFIXES = (".html", ".htm", ".php", ".asp", ".aspx", ".jsp", ".xml")


def _check_base_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"must be an absolute http(s) URL such as https://example.org/, not {value!r}"
    if parts.query or parts.fragment:
        return f"must not have a query or fragment: {value!r}"
    if "@" in parts.netloc:
        return f"must not hold a user name or password: {value!r}"
    try:
        parts.port  # noqa: B018 - it checks the port
    except ValueError:
        return f"has a port that is not a number from 0 to 65535: {value!r}"
    tidy = _tidy_path(parts.path)
    if tidy is not None:
        fixed = urlunsplit((parts.scheme, parts.netloc, tidy, "", ""))
        return f"must not have an empty, '.' or '..' part in its path: {value!r}; write {fixed!r}"
    if parts.path.lower().endswith(_PAGE_SUFFIXES):
        folder = value[: value.rindex("/") + 1]
        return f"must name the site's folder, not a page: {value!r}; write {folder!r}"
    try:
        normalise_base_url(value)
    except UnicodeError:
        return f"has a host that is not a domain name: {value!r}"
    if any(c.isspace() or c in '<>"{}|\\^`' for c in parts.netloc):
        return f"has a host that is not a domain name: {value!r}"
    return None


_HERE = frozenset({".", "%2e"})
_UP = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})
"""The parts of a path a browser reads as `.` and `..`, escaped or not (lower case)."""


def _tidy_path(path: str) -> str | None:
    """The path without its empty, `.` and `..` parts (a `..` removing the part before
    it), ending in `/`; None if it has none. Every link is the site's path plus the
    page's: after `//` it would name another host (`//static/style.css`), and a browser
    resolves `.` and `..` to another folder than the site's."""
    parts = path.split("/")[1:]
    dots = [part.lower() in _HERE | _UP for part in parts]
    if not any(dots) and "" not in parts[:-1]:
        return None
    kept: list[str] = []
    for part, dot in zip(parts, dots, strict=True):
        if part.lower() in _UP:
            kept = kept[:-1]
        elif part and not dot:
            kept.append(part)
    if kept and kept[-1].lower().endswith(_PAGE_SUFFIXES):
        kept.pop()  # a page is refused next: name its folder at once
    return "/" + "".join(part + "/" for part in kept)


_RTL_LANGUAGES = frozenset(
    {
        *("ar", "arc", "ckb", "dv", "fa", "he", "iw", "ji", "ks", "ps", "sd", "syr", "ug"),
        *("ur", "yi", "arz", "ary", "azb", "bcc", "bqi", "glk", "lrc", "mzn", "nqo", "pnb"),
        "prs",
    }
)
"""Languages written from right to left (ISO 639 codes, `iw` and `ji` the old ones;
`arz`, `ary` Egyptian and Moroccan Arabic, `azb` South Azerbaijani, `pnb` Western
Punjabi, `prs` Dari, `nqo` N'Ko, and the Iranian languages written in Arabic script)."""
_RTL_SCRIPTS = frozenset(
    {
        *("adlm", "arab", "aran", "armi", "avst", "chrs", "cprt", "elym", "gara", "hatr"),
        *("hebr", "hung", "khar", "lydi", "mand", "mani", "mend", "merc", "mero", "narb"),
        *("nbat", "nkoo", "orkh", "ougr", "palm", "phli", "phlp", "phlv", "phnx", "prti"),
        *("rohg", "samr", "sarb", "sogd", "sogo", "syrc", "syre", "syrj", "syrn", "thaa"),
        "yezi",
    }
)
"""Scripts written from right to left (ISO 15924 codes, in lower case): those whose
letters Unicode gives a right-to-left direction (bidi class R or AL), and the variants
ISO 15924 names of them (Arabic Nastaliq `aran`, Book Pahlavi `phlv`, three of Syriac)."""


def _script_of(subtags: list[str]) -> str | None:
    """The script subtag of a language tag split at its `-`, in lower case: the four
    letters after the language and any extended language (`zh-yue-Hant`), before a region
    or anything else; None if it names none (`ar`, `ar-EG`, `en-x-arab`, `x-arab`)."""
    if len(subtags[0]) == 1:
        return None  # a private tag (`x-...`): its subtags mean what its users agree
    for subtag in subtags[1:]:
        if len(subtag) == 3 and subtag.isalpha():
            continue  # an extended language subtag
        return subtag if len(subtag) == 4 and subtag.isalpha() else None
    return None


_LANGUAGE_TAG = re.compile(r"(?:[A-Za-z]{2,3}|[Xx](?=-))(-[A-Za-z0-9]{1,8})*")
"""A BCP 47 language tag, as pages (`lang`) and feeds (`language`, `xml:lang`) hold it: a
language's two- or three-letter code (ISO 639), then subtags (`x-` starts a private one)."""


def _check_language(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if not _LANGUAGE_TAG.fullmatch(value):
        hint = f" ({value.replace('_', '-')}?)" if "_" in value else ""
        if value.isalpha() and len(value) > 3:
            hint = " (a language's code, such as de for German)"
        return f"must be a language tag such as en, en-GB or pt-BR, not {value!r}{hint}"
    return None


_MACHINE_ZONES = frozenset({"localtime", "posixrules"})
"""Names the time zone database may hold for whatever zone the machine is set to: a site
built on two machines, or after the machine's zone changed, would differ."""


def _check_timezone(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if value.lower() in _MACHINE_ZONES:
        return f"{value!r} is the machine's own time zone; use an IANA name such as Europe/London"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}; use an IANA name such as Europe/London"
    return None


_SHOWN = reprlib.Repr()
"""Writes a wrong value in a message, cut short: aliases can make a list of a billion
items from a few lines (`[*a, *a, *a]`, nine times over), which `repr` never finishes."""
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict, _SHOWN.maxstring = 2, 4, 4, 80


def _check_type(kind: type, minimum: int | None = None) -> Callable[[Any], str | None]:
    names = {str: "a string", int: "an integer", bool: "true or false"}

    def check(value: Any) -> str | None:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"must be {names[kind]}, not {kind_of(value)} {_SHOWN.repr(value)}"
        if minimum is not None and isinstance(value, int) and value < minimum:
            return f"must be at least {minimum}, not {value}"
        return None

    return check


def _check_text(value: Any) -> str | None:
    """Text a page or feed shows: a string without control characters (but tab and
    line ends), which no HTML page or XML feed may hold."""
    if not isinstance(value, str):
        return _check_type(str)(value)
    found = sorted({f"U+{ord(c):04X}" for c in value if _is_control(c)})
    if found:
        shown = ", ".join(found[:3]) + (" …" if len(found) > 3 else "")
        return f"contains control characters ({shown}); remove them"
    return None


def _is_control(character: str) -> bool:
    """A control character (but tab and line ends) or a non-character (U+FDD0, U+FFFE)."""
    code = ord(character)
    if 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE:
        return True
    return unicodedata.category(character) == "Cc" and character not in "\t\n\r"


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "title": _check_text,
    "description": _check_text,
    "base_url": _check_base_url,
    "language": _check_language,
    "timezone": _check_timezone,
    "per_page": _check_type(int, minimum=1),
    "theme": _check_type(str),
    "hide_unpublished": _check_type(bool),
    "hide_future": _check_type(bool),
    "max_file_size": _check_type(int, minimum=1024),
}
_FEED_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "items": _check_type(int, minimum=1),
    "full_content": _check_type(bool),
}
_REQUIRED = ("title", "base_url")
_TEXT_KEYS = frozenset({"title", "description", "base_url", "language", "timezone", "theme"})
"""The keys whose value is text: one YAML reads as something else is taken as written."""


def load_config(site_dir: Path) -> SiteConfig:
    """Read `site.yaml` in `site_dir`; raise `BuildError` listing every problem."""
    path = site_dir / CONFIG_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BuildError((error(CONFIG_FILE, None, "no site.yaml in " + str(site_dir)),)) from None
    except OSError as exc:
        raise BuildError((error(CONFIG_FILE, None, f"cannot read: {exc}"),)) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BuildError((error(CONFIG_FILE, 1, "the file is UTF-16 text; save it as UTF-8"),))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # As articles say it: the byte and its line, not Python's position in the file.
        line = exc.object.count(b"\n", 0, exc.start) + 1
        byte = exc.object[exc.start]
        problem = f"not valid UTF-8 (byte 0x{byte:02x}); save the file as UTF-8"
        raise BuildError((error(CONFIG_FILE, line, problem),)) from None
    return parse_config(text)


def named_base_path(site_dir: Path) -> str | None:
    """The path of the `base_url` that `site.yaml` names, read even when other settings
    are wrong (where the preview serves the last good site meanwhile); None if the file
    cannot be read as YAML or names none."""
    try:
        text = (site_dir / CONFIG_FILE).read_text(encoding="utf-8-sig")
        found = yaml.load(text, Loader=yaml.CSafeLoader)
        url = found.get("base_url") if isinstance(found, dict) else None
        return urlsplit(normalise_base_url(url)).path if isinstance(url, str) else None
    except (OSError, UnicodeError, ValueError, yaml.YAMLError):
        return None


def line_of(site_dir: Path, key: str) -> int | None:
    """The line where `site.yaml` in `site_dir` sets the top-level `key`, for an error a
    later stage finds in its value (a theme that is not there); None if the file cannot
    be read as YAML or does not set it."""
    try:
        text = (site_dir / CONFIG_FILE).read_text(encoding="utf-8-sig")
        root = yaml.compose(text, Loader=yaml.CSafeLoader)
    except (OSError, UnicodeError, yaml.YAMLError):
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    return next((k.start_mark.line + 1 for k, _ in root.value if k.value == key), None)


def parse_config(text: str, name: str = CONFIG_FILE) -> SiteConfig:
    """Validate the text of a config file; raise `BuildError` listing every problem."""
    try:
        root = yaml.compose(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        line, problem = _yaml_problem(exc, text)
        raise BuildError((error(name, line, f"invalid YAML: {problem}"),)) from None
    if root is None:
        root = yaml.MappingNode("tag:yaml.org,2002:map", [])
    if not isinstance(root, yaml.MappingNode):
        raise BuildError((error(name, 1, "must be a mapping of key: value"),))
    problems: list[Diagnostic] = []
    checks = _CHECKS | {"feeds": lambda v: None}
    values = _read_mapping(root, checks, text, name, "", problems)
    written = {str(k.value) for k, _ in root.value}
    for key in _REQUIRED:
        if key not in written:
            problems.append(error(name, None, f"missing required key '{key}'"))
    feeds = FeedSettings()
    feeds_node = _node_for(root, "feeds")
    if isinstance(feeds_node, yaml.MappingNode):
        read = _read_mapping(feeds_node, _FEED_CHECKS, text, name, "feeds.", problems)
        feeds = FeedSettings(**read)
    elif feeds_node is not None and feeds_node.tag != "tag:yaml.org,2002:null":
        line = feeds_node.start_mark.line + 1
        problems.append(error(name, line, "'feeds' must be a mapping with items, full_content"))
    if problems:
        raise BuildError(tuple(problems))
    values.pop("feeds", None)
    values["base_url"] = normalise_base_url(values["base_url"])
    return SiteConfig(feeds=feeds, **values)


def _construct(node: yaml.Node) -> Any:
    constructor = yaml.constructor.SafeConstructor()
    return constructor.construct_object(node, deep=True)


_READ_OTHERWISE = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null", "timestamp")
)
_PROPERTIES = re.compile(r"(?:[&!]\S*\s+)*")
"""The anchor and tag written before a value (`&name !!int 5`)."""


def _as_written(node: yaml.Node, text: str) -> str | None:
    """The value of `node` as `text` writes it, if YAML reads it as other than text: a
    number (`1984`, `0x10`, `1_000`), true or false (`yes`, `off`), a date (`2024-05-01`)
    or the word null. None for any other value, for one given its kind by a tag (`!!int
    5`), and for no value (`key:` or `key: ~`). Articles keep numbers so too, by the
    front matter's loader (`WrittenInt`), which does not know which keys want text."""
    if not isinstance(node, yaml.ScalarNode) or node.tag not in _READ_OTHERWISE:
        return None
    if node.value in ("", "~"):
        return None
    written = text[node.start_mark.index : node.end_mark.index]
    found = _PROPERTIES.match(written)
    if found and any(part.startswith("!") for part in found.group().split()):
        return None
    value: str = node.value
    return value


def _yaml_problem(exc: yaml.YAMLError, text: str) -> tuple[int | None, str]:
    """The line (1-based) of a YAML syntax error and what it is, with the likely fix, as
    articles' front matter words it (`generator.frontmatter`, which the settings come
    before): an unclosed quote named at the line it opens, not at the end of the file."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        if isinstance(exc.character, int):
            return line, f"character U+{exc.character:04X} is not allowed; delete it"
        return line, f"{exc.reason}; delete it"
    if not isinstance(exc, yaml.MarkedYAMLError):
        return None, str(exc)
    opened = exc.context_mark
    if (
        opened is not None
        and "quoted scalar" in (exc.context or "")
        and "found unexpected" in (exc.problem or "")  # the end of the file, or a `---` line
    ):
        return opened.line + 1, (
            "a quote opened on this line is never closed; close it (a ' within a value in "
            "single quotes is written '')"
        )
    mark = exc.problem_mark or exc.context_mark
    message = str(exc.problem or exc.context)
    if exc.problem and exc.context and exc.context_mark is not None:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    lines = text.split("\n")
    here = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    return (
        mark.line + 1 if mark is not None else None
    ), f"{message}; {yaml_hint(exc.problem, here)}"


def yaml_hint(problem: str | None, line: str, more: tuple[tuple[str, str], ...] = ()) -> str:
    """What would most likely mend a YAML syntax error on `line`, by Python's words for
    its `problem`; `more` pairs further words with their hints (a reader's own limits),
    tried after a tab, which mends most errors."""
    problem = problem or ""
    if "\t" in line[: len(line) - len(line.lstrip())]:
        return "YAML does not allow tabs for indentation: indent with spaces"
    for words, hint in more:
        if words in problem:
            return hint
    if "undefined alias" in problem:
        return "define the '&anchor' before using '*anchor', or put the value in quotes"
    if "mapping values are not allowed" in problem:
        if line[:1] in (" ", "\t") and ": " not in line.strip().partition(": ")[2]:
            return (
                "this line is indented as if it were part of the value above; start it at "
                "the beginning of the line"
            )
        return "put the value in quotes (it holds ': ')"
    if "cannot start any token" in problem:
        return "put the value in quotes (YAML keeps '@', '`' and '%' at the start of a value)"
    if "escape" in problem:
        return "write the character itself instead of the backslash escape"
    return "check the quotes, colons and indentation on that line"


def _unconstructed(exc: Exception) -> str:
    """Why YAML could not make a value it parsed, and the fix, as articles' front matter
    words it: a tag the safe loader refuses (`!ENV`, `!!python/object`), or a value Python
    cannot hold (an integer of 5,000 digits, `!!bool maybe`); or a loop of aliases."""
    if isinstance(exc, yaml.MarkedYAMLError) and "recursive" in (exc.problem or ""):
        return "an alias refers to the value that holds it (a loop); remove the '*' alias"
    if isinstance(exc, yaml.MarkedYAMLError):
        return (
            f"invalid YAML: {exc.problem}; remove the '!' tag before the value, or put the "
            "value in quotes"
        )
    reason = str(exc).split(";")[0] or type(exc).__name__
    return f"invalid YAML value ({reason}); put the value in quotes, or remove its '!!' tag"


def _node_for(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in mapping.value:
        if key_node.value == key:
            node: yaml.Node = value_node
            return node
    return None


def _read_mapping(
    mapping: yaml.MappingNode,
    checks: dict[str, Callable[[Any], str | None]],
    text: str,
    name: str,
    prefix: str,
    problems: list[Diagnostic],
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    seen: set[str] = set()
    for key_node, value_node in mapping.value:
        key, line = str(key_node.value), key_node.start_mark.line + 1
        if key in seen:
            problems.append(error(name, line, f"'{prefix}{key}' is set twice; keep one"))
            continue
        seen.add(key)
        check = checks.get(key)
        if check is None:
            known = ", ".join(sorted(checks))
            problems.append(error(name, line, f"unknown key '{prefix}{key}' (known: {known})"))
            continue
        if isinstance(value_node, yaml.MappingNode) and key == "feeds":
            values[key] = None
            continue
        written = _as_written(value_node, text) if key in _TEXT_KEYS and not prefix else None
        try:
            value = _construct(value_node) if written is None else written
        except Exception as exc:  # a tag YAML's safe loader refuses, or a value too large
            mark = getattr(exc, "problem_mark", None)  # the tagged item, in a list
            where = mark.line + 1 if mark is not None else line
            problems.append(error(name, where, f"'{prefix}{key}': {_unconstructed(exc)}"))
            continue
        message = check(value)
        if message:
            problems.append(error(name, line, f"'{prefix}{key}' {message}"))
        else:
            values[key] = value
    return values
