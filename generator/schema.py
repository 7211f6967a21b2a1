"""The article schema: front-matter keys, their aliases and converters, in one table.

Owns turning a parsed front-matter mapping into an `Article` or into diagnostics
that name the key, its line and the fix. Pure: no file access, no site-wide state.
"""

from __future__ import annotations

import calendar
import difflib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from generator.config import idna_authority
from generator.diagnostics import Diagnostic, error, kind_of, warning
from generator.frontmatter import FrontMatter, plain_numbers
from generator.markup import derive_excerpt
from generator.model import Article, Image, Provider, RelatedItem, Term
from generator.slugs import MAX_SLUG_LENGTH, identity_key, is_shortened, slugify

MIN_YEAR = 1000
"""The earliest year accepted in dates: URLs spell years with four digits."""
_URL_CONTROLS = re.compile("[\x00-\x1f\x7f]")


class FieldError(Exception):
    """A value that cannot be used; the message says what would fix it."""

    def __init__(
        self, message: str, item: int | None = None, more: tuple[FieldError, ...] = ()
    ) -> None:
        super().__init__(message)
        self.item = item
        """Which item (from 0) of the key's list holds the value, if it is in one."""
        self.more = more
        """The problems of later items of the same list: all are named at once."""

    def all(self) -> tuple[FieldError, ...]:
        """Each problem, on its own."""
        return (FieldError(str(self), self.item), *self.more)

    def within(self, prefix: str, item: int | None) -> FieldError:
        """These problems, as those of the value at `prefix` (a key, or an item of a
        list) of the one being read, which is in `item` of the key's list."""
        return _together(
            [FieldError(f"{prefix}: {e}", e.item if item is None else item) for e in self.all()]
        )


def _together(problems: list[FieldError]) -> FieldError:
    """One error for all these problems (each perhaps several), the first named first."""
    first, *more = [each for problem in problems for each in problem.all()]
    return FieldError(str(first), first.item, tuple(more))


def _what(value: Any) -> str:
    """What a value is, for a message: its kind, and the value itself if it is text or
    a number (a list or mapping is shown by its line)."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return f"{kind_of(value)} {_shown(value)}"
    return kind_of(value)


def _shown(value: Any, limit: int = 60) -> str:
    """`repr` of a value as quoted in a message, cut short if it is long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_text(value: Any) -> str:
    """Text; a number as the file wrote it (`1.10`, `0123`), not as YAML reads it."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(f"must be text, not {kind_of(value)}; put the value in quotes")
    return str(getattr(value, "written", value)).strip()


_DECIMAL = re.compile(r"[-+]?[0-9]+", re.ASCII)


def to_int(value: Any, low: int | None = None, high: int | None = None) -> int:
    """A whole number written in digits, quoted or not: YAML's others (`0x1F`, `1_000`,
    `1:30`) are refused, and `0100` is a hundred, not YAML's octal 64."""
    written = getattr(value, "written", None)
    if written is not None and not isinstance(value, bool) and isinstance(value, int):
        if not _DECIMAL.fullmatch(written):
            raise FieldError(f"must be a whole number written in digits, not {written!r}")
        value = _digits(written)
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        value = _digits(value)  # quoted, or `08`, which YAML reads as text
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"must be a whole number, not {_what(value)}; write digits only")
    if low is not None and value < low:
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise FieldError(f"must be {limit}, not {value}")
    if high is not None and value > high:
        raise FieldError(f"must be between {low} and {high}, not {value}")
    return int(value)


def _digits(text: str) -> int:
    """The number `text` writes in decimal digits; `FieldError` for one longer than
    Python reads (4,300 digits), which no field can hold anyway."""
    try:
        return int(text, 10)
    except ValueError:
        raise FieldError(f"must be a whole number, not one of {len(text.strip())} digits") from None


def to_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldError(f"must be true or false, not {_what(value)}")
    return value


_NOT_IN_URL = re.compile(r'[ "<>^`{|}]')
"""ASCII characters a URL may not hold as they are (RFC 3986): percent-encoded, as
browsers do. (A backslash stays: browsers read it as a slash, and `to_url` checks it
as one.)"""


_HOST_WRITTEN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")
_NOT_ASCII = re.compile(r"[^\x00-\x7f]+")


def to_url(value: Any) -> str:
    """An http(s) or relative URL, with what a URL may not hold as it is (a space, a
    quote, a letter outside ASCII) percent-encoded, and a host outside ASCII in its
    ASCII form (`xn--`), as browsers send them; every other scheme is refused."""
    text = _NOT_IN_URL.sub(lambda m: f"%{ord(m.group()):02X}", to_text(value).strip())
    if not text.isascii():  # feeds, sitemaps and link previews take ASCII addresses
        host = _HOST_WRITTEN.match(text)
        start = host.end() if host else 0
        text = _ascii_host(text[:start]) + _outside_ascii_encoded(text[start:])
    if _URL_CONTROLS.search(text):
        raise FieldError("contains control characters (tabs or line breaks); remove them")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise FieldError(f"is not a valid URL ({exc}); write https://host/path") from None
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.netloc:
            raise FieldError(f"{_shown(text)} has no host; write https://host/path")
        return scheme + text[len(scheme) :]
    if scheme:
        raise FieldError(
            f"unsafe URL scheme '{_shown(scheme, 20)[1:-1]}:'; only http(s) and relative URLs "
            "are allowed: link to an https:// page or remove the value"
        )
    # Browsers read a backslash as a slash, so `/\\host` leaves the site too.
    if text.replace("\\", "/").startswith("//"):
        raise FieldError(f"{_shown(text)} is protocol-relative; write it with https://")
    if ("." in text or "%" in text) and _climbs(text):
        raise FieldError(
            f"{_shown(text)} climbs above the site's root ('..'); write it from the root "
            "(static/photo.jpg) or with https://"
        )
    return text


def with_ascii_host(url: str) -> str:
    """`url` with its host, if it has one outside ASCII, in its ASCII form (`xn--`);
    all else as written."""
    host = _HOST_WRITTEN.match(url)
    if host is None:
        return url
    return _ascii_host(url[: host.end()]) + url[host.end() :]


def _ascii_host(written: str) -> str:
    """`scheme://authority` with a host outside ASCII in its ASCII form, if it has one,
    and the rest of it outside ASCII (a user name) percent-encoded."""
    scheme, _, authority = written.partition("://")
    if authority.isascii():
        return written
    try:
        authority = idna_authority(authority)
    except UnicodeError:  # not a valid name: kept as written
        return written
    return f"{scheme}://{_outside_ascii_encoded(authority)}"


def _outside_ascii_encoded(text: str) -> str:
    """`text` with its characters outside ASCII percent-encoded as UTF-8."""
    return _NOT_ASCII.sub(lambda m: quote(m.group(), errors="surrogatepass"), text)


_DOUBLE_DOT = frozenset({"..", ".%2e", "%2e.", "%2e%2e"})
"""A path segment browsers take for `..` (lower case)."""


def _climbs(relative: str) -> bool:
    """Whether a URL relative to the site's root leads above it, as a browser reads
    its path (a backslash as a slash, `%2e` as a dot)."""
    path = relative.replace("\\", "/").partition("#")[0].partition("?")[0]
    depth = 0
    for segment in path.split("/"):
        if segment.lower() in _DOUBLE_DOT:
            depth -= 1
            if depth < 0:
                return True
        elif segment not in ("", "."):
            depth += 1
    return False


_WRITTEN_DATE = re.compile(
    r"(?P<year>[0-9]{4})-?(?P<month>[0-9]{2})-?(?P<day>[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):?(?P<minute>[0-9]{2})?:?(?P<second>[0-9]{2})?)?",
    re.ASCII,
)


def _out_of_range(text: str, why: str) -> str:
    """In words, which part of a date or time written as ISO 8601 is out of its range,
    from Python's reason (`why`); nothing for text that is not such a date at all."""
    parts = _WRITTEN_DATE.match(text)
    if "offset must be a timedelta" in why:  # +25:00, say
        return " (its offset from UTC is not within 24 hours)"
    if parts is None or "Invalid isoformat" in why:
        return ""
    year, month, day = (int(parts[name]) for name in ("year", "month", "day"))
    if why.startswith("year"):
        return f" (there is no year {year})"
    if why.startswith("month"):
        return f" (there is no month {month}: months go from 01 to 12)"
    if why.startswith("day"):
        if not day:
            return " (there is no day 0)"
        days = calendar.monthrange(year, month)[1] if year else 31
        return f" ({calendar.month_name[month]} {year} has {days} days, not {day})"
    for unit, last in (("hour", 23), ("minute", 59), ("second", 59)):
        if why.startswith(unit):
            return f" ({unit}s go from 00 to {last}, not {parts[unit]})"
    return f" ({why})"


def to_timestamp(value: Any, tz: tzinfo) -> datetime:
    """An aware datetime in `tz`; a value without an offset is taken as local to `tz`
    (a time the clocks skipped, such as 02:30 on the night they go forward, is read
    with the offset before the change and shown as the time it then was, 03:30)."""
    if isinstance(value, bool | list | dict):  # quoting it would not make it a date
        raise FieldError(
            f"must be a date or time, not {kind_of(value)}; write e.g. 2024-05-01T09:30:00Z"
        )
    text = to_text(value)  # stripped
    if not text:
        raise FieldError("is empty; write e.g. 2024-05-01T09:30:00Z")
    try:
        # RFC 3339 allows a lower-case `z` for UTC, which Python does not read.
        moment = datetime.fromisoformat(text[:-1] + "Z" if text.endswith("z") else text)
        written_offset = moment.utcoffset()
        if written_offset is None:  # by way of UTC: a time in `tz` is not converted again
            local = moment.replace(tzinfo=tz)
            try:
                moment = local.astimezone(UTC)
            except OverflowError:  # late on 31 December 9999 west of UTC, still 9999 in `tz`
                moment = local
        moment = moment.astimezone(tz)
    except ValueError as exc:
        reason = _out_of_range(text, str(exc))
        raise FieldError(
            f"{_shown(text)} is not an ISO 8601 date or time{reason}; "
            "write e.g. 2024-05-01T09:30:00Z"
        ) from None
    except OverflowError:
        raise FieldError(
            f"{_shown(text)} is out of the supported range of dates; check the date"
        ) from None
    offset = moment.utcoffset()
    if offset is not None and offset % timedelta(minutes=1):
        # A zone's old local mean time (Paris before 1911: +00:09:21) has seconds, which
        # neither feeds (RFC 822, RFC 3339) nor pages can write: the offset is rounded to
        # the minute, keeping the time of day written in the zone (a bare date stays on
        # its day), or else the moment written with an offset of its own.
        rounded = timezone(timedelta(minutes=round(offset.total_seconds() / 60)))
        in_the_zone = written_offset is None or written_offset == offset
        moment = moment.replace(tzinfo=rounded) if in_the_zone else moment.astimezone(rounded)
    if moment.year < MIN_YEAR:
        # Archive URLs have four-digit years.
        raise FieldError(f"{_shown(text)} is before the year {MIN_YEAR}; check the date")
    return moment


def _local_time_note(value: Any, tz: tzinfo) -> str | None:
    """What to say of a time written without an offset that the clocks of `tz` show twice
    (when they go back) or skip (when they go forward): it could be either of two
    moments, or none, and `to_timestamp` picked one. None for any other value."""
    text = to_text(value)
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return None
    first, second = naive.replace(tzinfo=tz), naive.replace(tzinfo=tz, fold=1)
    before, after = first.utcoffset(), second.utcoffset()
    if before is None or after is None or before == after:
        return None
    shown = _shown(text)
    if before > after:  # the clocks go back: the hour is lived twice
        taken, other = _offset_text(before), _offset_text(after)
        return (
            f"{shown} happens twice in {tz} (the clocks go back); taken as the first, "
            f"{taken}: write the offset to choose ({taken} or {other})"
        )
    try:
        moment = first.astimezone(UTC).astimezone(tz)
    except OverflowError:
        return None
    return (
        f"{shown} never happens in {tz} (the clocks go forward); taken as "
        f"{moment.strftime('%H:%M')}{_offset_text(after)}: write the offset to say which "
        "moment is meant"
    )


def _offset_text(offset: timedelta) -> str:
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def to_topics(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise FieldError(f"must be a list of names or one name, not {_what(value)}")
    names: list[str] = []
    problems: list[FieldError] = []
    for index, item in enumerate(items):
        if item is None:  # a blank item (`-` alone): left out
            continue
        try:
            name = to_text(item)
        except FieldError:
            problems.append(FieldError(f"must list names as text, not {kind_of(item)}", index))
            continue
        if name:
            names.append(name)
    if problems:
        raise _together(problems)
    return tuple(names)


def domain_of(url: str) -> str:
    return _host(urlsplit(url).hostname or "")


def to_domain(value: Any) -> str:
    """A provider's domain, as `_host` spells it."""
    text = to_text(value)
    try:
        return _host(text)
    except ValueError:  # a web address whose host cannot be read: `https://[x.example]`
        raise FieldError(
            f"{_shown(text)} is not a domain or a web address; write it as example.com"
        ) from None


def _host(text: str) -> str:
    """A domain as one spelling: lower case, without `www.`, a trailing dot, or a scheme,
    port and path written around it, and in Unicode (`xn--bcher-kva.example` is
    `bücher.example`). `ValueError` for a web address whose host cannot be read."""
    if "://" in text:
        text = urlsplit(text).hostname or ""
    host = text.split("/", 1)[0].strip().lower()
    name, colon, port = host.rpartition(":")
    if colon and (port.isdigit() or not port) and ":" not in name:  # not an IPv6 address
        host = name
    host = host.rstrip(".").removeprefix("www.")
    if "xn--" in host:
        try:
            decoded = host.encode("ascii").decode("idna")
            if decoded.encode("idna").decode("ascii") == host:  # else not valid IDNA
                host = decoded
        except UnicodeError:
            pass  # kept as written
    return host


def to_provider(value: Any, fallback_url: str) -> Provider | None:
    """The provider; None when it is empty (a blank name, or a mapping with neither
    name nor domain), as if it were not given."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        name = to_text(value)
        return Provider(name=name, domain=domain_of(fallback_url)) if name else None
    if not isinstance(value, dict):
        raise FieldError(f"must be a name or a mapping with name and domain, not {kind_of(value)}")
    keys = _Keys(value)
    name = keys.get("name", to_text, "")
    domain = keys.get("domain", to_domain, "")
    keys.check()
    if not name and not domain:
        return None
    return Provider(name=name or domain, domain=domain)


def _sub(mapping: dict[str, Any], key: str, convert: Callable[[Any], Any], default: Any) -> Any:
    value = mapping.get(key)
    if value is None:
        return default
    try:
        return convert(value)
    except FieldError as exc:
        raise exc.within(key, None) from None


class _Keys:
    """Reads the keys of one mapping, keeping each key's problem (and its default), so
    that `check` names them all at once: a bad `width` does not hide a bad `height`."""

    def __init__(self, mapping: dict[str, Any]) -> None:
        self._mapping = mapping
        self._problems: list[FieldError] = []

    def get(self, key: str, convert: Callable[[Any], Any], default: Any) -> Any:
        try:
            return _sub(self._mapping, key, convert, default)
        except FieldError as exc:
            self._problems.append(exc)
            return default

    def check(self) -> None:
        if self._problems:
            raise _together(self._problems)


_T = TypeVar("_T")


def _each_item(value: Any, convert: Callable[[dict[str, Any]], _T | None]) -> tuple[_T, ...]:
    """Each item of a list of mappings (or of a lone mapping), converted, but for those
    `convert` leaves out (None); a `FieldError` naming every item with a problem."""
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise FieldError(f"must be a list of mappings, not {kind_of(value)}")
    converted: list[_T] = []
    problems: list[FieldError] = []
    for index, item in enumerate(items):
        if item is None:  # a blank item (`-` alone): left out
            continue
        try:
            if not isinstance(item, dict):
                raise FieldError(f"must be a mapping of key: value lines, not {_what(item)}")
            result = convert(item)
        except FieldError as exc:
            problems.append(exc.within(f"item {index + 1}", index))
            continue
        if result is not None:
            converted.append(result)
    if problems:
        raise _together(problems)
    return tuple(converted)


def to_images(value: Any) -> tuple[Image, ...]:
    """The images; an item without a url (or a blank one) is left out."""
    return _each_item(value, _image)


def _image(item: dict[str, Any]) -> Image | None:
    if _left_out_item("images", item):
        return None
    keys = _Keys(item)
    image = Image(
        url=keys.get("url", to_url, ""),
        width=keys.get("width", lambda v: to_int(v, 1, 100_000), None),
        height=keys.get("height", lambda v: to_int(v, 1, 100_000), None),
        alt=keys.get("alt", to_text, ""),
        caption=keys.get("caption", to_text, ""),
        is_cached=keys.get("isCached", to_bool, False),
    )
    keys.check()
    return image


def to_related(value: Any, tz: tzinfo) -> tuple[RelatedItem, ...]:
    """The related items; one with neither a title nor a webUrl (or blank ones) is left
    out."""
    return _each_item(value, functools.partial(_related_item, tz=tz))


def _related_item(item: dict[str, Any], tz: tzinfo) -> RelatedItem | None:
    if _left_out_item("related", item):
        return None
    keys = _Keys(item)
    web_url: str = keys.get("webUrl", to_url, "")
    published = keys.get("publishedDateTime", lambda v: to_timestamp(v, tz), None)
    if item.get("publishedDateTime") is None:  # the alias articles take too
        published = keys.get("date", lambda v: to_timestamp(v, tz), None)

    def provider(value: Any) -> Provider | None:
        return to_provider(value, web_url)

    related = RelatedItem(
        title=keys.get("title", to_text, ""),
        excerpt=keys.get("excerpt", to_text, ""),
        published=published,
        web_url=web_url,
        amp_web_url=keys.get("ampWebUrl", to_url, ""),
        cdn_amp_web_url=keys.get("cdnAmpWebUrl", to_url, ""),
        type=keys.get("type", to_text, "article"),
        provider=keys.get("provider", provider, None),
        quality=keys.get("quality", lambda v: to_int(v, 0, 100), None),
        images=keys.get("images", to_images, ()),
    )
    keys.check()
    return related


def _text(value: Any, tz: tzinfo) -> str:
    return to_text(value)


def _timestamp(value: Any, tz: tzinfo) -> datetime:
    return to_timestamp(value, tz)


def _url(value: Any, tz: tzinfo) -> str:
    return to_url(value)


def _flag(value: Any, tz: tzinfo) -> bool:
    return to_bool(value)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    convert: Callable[[Any, tzinfo], object]
    aliases: tuple[str, ...] = ()
    required: bool = False


# The article schema in one place: canonical key, converter, aliases.
FIELDS: tuple[Field, ...] = (
    Field("title", _text, required=True),
    Field("publishedDateTime", _timestamp, ("date",), required=True),
    Field("updatedDateTime", _timestamp, ("updated",)),
    Field("excerpt", _text, ("summary", "description")),
    Field("topics", lambda v, tz: to_topics(v), ("tags",)),
    Field("category", _text),
    Field("provider", lambda v, tz: to_provider(v, "")),
    Field("originalUrl", _url),
    Field("webUrl", _url),
    Field("type", _text),
    Field("quality", lambda v, tz: to_int(v, 0, 100)),
    Field("heat", lambda v, tz: to_int(v, -1)),
    Field("published", _flag),
    Field("draft", _flag),
    Field("images", lambda v, tz: to_images(v)),
    Field("related", to_related),
    Field("slug", _text),
    Field("id", _text),
)
NEVER_KEPT = frozenset({"secured"})
_KNOWN = frozenset(k for f in FIELDS for k in (f.name, *f.aliases)) | NEVER_KEPT


@functools.lru_cache(maxsize=1024)
def _meant(key: str) -> str | None:
    """The known key an unknown `key` is a slip for (`draf`, `titel`, `Title`), if any:
    a slip would otherwise pass in silence, kept as extra data for templates."""
    by_case = {k.lower(): k for k in _KNOWN}
    near = [k for k in sorted(by_case) if abs(len(k) - len(key)) <= 2]  # not `published_at`
    close = difflib.get_close_matches(key.lower(), near, n=1, cutoff=0.8)
    return by_case[close[0]] if close else None


_LEFT_OUT = {
    "topics": "an empty name is ignored",
    "provider": "is empty, so ignored",
    "images": "an image without a url is left out",
    "related": "an item with neither a title nor a webUrl is left out",
}
"""What a warning says of an empty value in these fields, which is left out."""


_FILL_IN = {"title": "write a headline", "publishedDateTime": "write the date it was published"}
"""What to do about a required key written with no value."""


def _required(field: Field, front: FrontMatter, source_path: str) -> Diagnostic:
    """The error for a required field that has no value: written with none (`title:`),
    or not written at all."""
    names = (field.name, *field.aliases)
    written = next((k for k in names if k in front.data), None)
    if written is not None:
        message = f"{written}: is empty; {_FILL_IN[field.name]}"
        return error(source_path, front.line_of(written), message)
    what = " or ".join(repr(k) for k in names)
    return error(source_path, front.first_line - 1, f"missing {what}; add it to the front matter")


def _aliases_ignored_in_items(front: FrontMatter, key: str, source_path: str) -> list[Diagnostic]:
    """A warning for each item of the list at `key` (related items, already read) that
    gives both `publishedDateTime` and its alias `date`, as an article may not."""
    items = front.data[key]
    return [
        warning(
            source_path,
            front.line_of(key, index),
            f"{key}: item {index + 1}: 'date' is ignored because 'publishedDateTime' is also "
            "set; remove one",
        )
        for index, item in enumerate(items if isinstance(items, list) else [items])
        if isinstance(item, dict)
        and item.get("publishedDateTime") is not None
        and item.get("date") is not None
    ]


def _local_times_in_items(
    front: FrontMatter, key: str, source_path: str, tz: tzinfo
) -> list[Diagnostic]:
    """A warning for each item of the list at `key` (related items, read without errors)
    whose date, written without an offset, is a time the clocks of `tz` show twice or
    skip: as for an article's own dates (`_local_time_note`)."""
    items = front.data[key]
    notes = []
    for index, item in enumerate(items if isinstance(items, list) else [items]):
        if not isinstance(item, dict) or _left_out_item("related", item):
            continue  # a left-out item's date was never read
        name = "publishedDateTime" if item.get("publishedDateTime") is not None else "date"
        written = item.get(name)
        note = None if written is None else _local_time_note(written, tz)
        if note:
            message = f"{key}: item {index + 1}: {name}: {note}"
            notes.append(warning(source_path, front.line_of(key, index), message))
    return notes


def _left_out_item(name: str, item: Any) -> bool:
    """Whether an item of the list of field `name` is left out as empty: a topic with a
    blank name, an image without a url, a related item with neither title nor webUrl."""
    if name == "topics":
        return item is None or not to_text(item)
    if item is None:
        return True
    if name == "images":
        return not _filled(item, "url")
    return not (_filled(item, "title") or _filled(item, "webUrl"))


def _filled(item: dict[str, Any], key: str) -> bool:
    """Whether the item gives the key a value that is not blank; one that is not text
    at all counts as given (reading the item then names it with its other problems)."""
    try:
        return bool(_sub(item, key, to_text, ""))
    except FieldError:
        return True


def _left_out(field: str, value: Any, written: Any) -> list[int | None]:
    """Which of what was `written` for the field the value read from it (`value`) left
    out as empty: the items of a list (from 0), or None for the whole value."""
    if value is None:
        return [None]
    if not isinstance(value, tuple):
        return []
    items = written if isinstance(written, list) else [written]
    if len(value) == len(items):
        return []
    return [index for index, item in enumerate(items) if _left_out_item(field, item)]


def parse_article(
    front: FrontMatter,
    source_path: str,
    stem: str,
    tz: tzinfo,
    body_html: str,
    source_hash: str = "",
) -> tuple[Article | None, tuple[Diagnostic, ...]]:
    """Validate front matter; an `Article`, or `None` with the errors that set it aside.
    `source_hash` is the digest of the file's bytes, as `Article.source_hash`."""
    problems: list[Diagnostic] = []
    values: dict[str, Any] = {}
    keys: dict[str, str] = {}  # the key each field was read from
    for field in FIELDS:
        present = [k for k in (field.name, *field.aliases) if front.data.get(k) is not None]
        if not present:
            if field.required:
                problems.append(_required(field, front, source_path))
            continue
        key = keys[field.name] = present[0]
        for ignored in present[1:]:
            problems.append(
                warning(
                    source_path,
                    front.line_of(ignored),
                    f"'{ignored}' is ignored because '{key}' is also set; remove one",
                )
            )
        if field.name == "related":  # said even when an item has errors
            problems.extend(_aliases_ignored_in_items(front, key, source_path))
        try:
            values[field.name] = field.convert(front.data[key], tz)
        except FieldError as exc:
            for found in exc.all():
                line = front.line_of(key, found.item)
                problems.append(error(source_path, line, f"{key}: {found}"))
            continue
        if field.convert is _timestamp and (note := _local_time_note(front.data[key], tz)):
            problems.append(warning(source_path, front.line_of(key), f"{key}: {note}"))
        if field.name == "related":
            problems.extend(_local_times_in_items(front, key, source_path, tz))
        if field.name in _LEFT_OUT:
            message = f"{key}: {_LEFT_OUT[field.name]}"
            for item in _left_out(field.name, values[field.name], front.data[key]):
                problems.append(warning(source_path, front.line_of(key, item), message))
    for key in front.data:
        if key not in _KNOWN and (meant := _meant(key)) is not None:
            problems.append(
                warning(
                    source_path,
                    front.line_of(key),
                    f"'{key}' is not a key of the article format; did you mean '{meant}'? "
                    "(it is kept as extra data for templates)",
                )
            )
    if not values.get("title") and "title" in values:
        problems.append(
            error(source_path, front.line_of("title"), "title: is empty; write a headline")
        )
    if any(p.is_error for p in problems):
        return None, tuple(problems)
    updated = values.get("updatedDateTime")
    if updated is not None and updated < values["publishedDateTime"]:
        key = next(k for k in ("updatedDateTime", "updated") if front.data.get(k) is not None)
        problems.append(
            warning(
                source_path,
                front.line_of(key),
                f"{key}: before the publication date, so ignored; correct or remove it",
            )
        )
        del values["updatedDateTime"]
    article = _article(values, keys, front, source_path, stem, body_html, source_hash)
    if values.get("slug") and not article.explicit_slug:
        problems.append(
            warning(
                source_path,
                front.line_of("slug"),
                f"slug: longer than {MAX_SLUG_LENGTH} characters as a slug; cut to "
                f"'{article.slug}', and numbered if another article's is cut the same",
            )
        )
    return article, tuple(problems)


def _article(
    values: dict[str, Any],
    keys: dict[str, str],
    front: FrontMatter,
    source_path: str,
    stem: str,
    body_html: str,
    source_hash: str,
) -> Article:
    provider: Provider | None = values.get("provider")
    if provider is not None and not provider.domain:
        # A provider given by name alone takes the domain of the article's own URL.
        provider = replace(
            provider, domain=domain_of(values.get("originalUrl") or values.get("webUrl", ""))
        )
    slug_text = values.get("slug")

    def line(name: str) -> int | None:
        return front.line_of(keys[name]) if name in keys else None

    return Article(
        source_path=source_path,
        id=values.get("id") or stem,
        slug=slugify(slug_text or values["title"], fallback_seed=stem),
        # A slug cut to fit is not the one asked for: numbered, as one made from a
        # title is, if another article's comes out the same.
        explicit_slug=bool(slug_text and not is_shortened(slug_text)),
        title=values["title"],
        published=values["publishedDateTime"],
        updated=values.get("updatedDateTime"),
        excerpt=values.get("excerpt") or derive_excerpt(body_html),
        body_html=body_html,
        topics=_topic_terms(values.get("topics", ())),
        category=values.get("category", ""),
        provider=provider,
        source=_source_term(provider),
        original_url=values.get("originalUrl", ""),
        web_url=values.get("webUrl", ""),
        type=values.get("type") or "article",
        quality=values.get("quality"),
        heat=values.get("heat"),
        is_published=values.get("published", True),
        draft=values.get("draft", False),
        images=values.get("images", ()),
        related=values.get("related", ()),
        extra={k: plain_numbers(v) for k, v in front.data.items() if k not in _KNOWN},
        slug_line=front.line_of("slug") if slug_text else front.line_of("title"),
        web_url_line=line("webUrl"),
        topics_line=line("topics"),
        provider_line=line("provider"),
        source_hash=source_hash,
    )


def _topic_terms(names: tuple[str, ...]) -> tuple[Term, ...]:
    """One term per distinct key, first spelling kept, in the order written."""
    terms: dict[str, Term] = {}
    for name in names:
        term = _topic_term(name)
        terms.setdefault(term.key, term)
    return tuple(terms.values())


# A site has a few hundred topics and sources over thousands of articles: each term is
# made once per process. (Terms are frozen, so articles may share one.)
@functools.lru_cache(maxsize=4096)
def _topic_term(name: str) -> Term:
    return Term(identity_key(name), name, slugify(name))


def _source_term(provider: Provider | None) -> Term | None:
    if provider is None:
        return None
    return _named_source(provider.domain, provider.name)


@functools.lru_cache(maxsize=4096)
def _named_source(domain: str, name: str) -> Term:
    key = domain or identity_key(name)
    return Term(key=key, name=name, slug=slugify(key.replace(".", "-")))
