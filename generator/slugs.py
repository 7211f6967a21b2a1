"""Slugs and identity keys: readable, stable ASCII names for URLs.

Owns how text becomes a slug (`C++` -> `c-plus-plus`, `Économie` -> `economie`) and
how a topic's identity key ignores case and accents. Pure functions only.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Container

from slugify import slugify as _slugify

MAX_SLUG_LENGTH = 80

# Symbols that carry meaning in names of topics (C++, C#, .NET, R&D) and would
# otherwise vanish, making distinct topics share a URL.
_SYMBOLS = (("++", " plus plus "), ("+", " plus "), ("#", " sharp "), ("&", " and "), ("@", " at "))
_LEADING_DOT = re.compile(r"(?:(?<=\s)|^)\.(?=\w)")
# Names Windows reserves for devices in every folder: a site holding a folder `con/`
# could not be copied to, or served from, a Windows machine.
WINDOWS_DEVICE_NAMES = frozenset(
    {"con", "prn", "aux", "nul", *(f"{port}{n}" for port in ("com", "lpt") for n in range(10))}
)
DEVICE_NAME_SUFFIX = "-x"


def identity_key(text: str) -> str:
    """Case- and accent-insensitive key: `AI`, `ai` and full-width forms are one."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def slugify(text: str, fallback_seed: str = "") -> str:
    """A lowercase ASCII slug; never empty, never longer than `MAX_SLUG_LENGTH`.

    Text with no transliterable letters (emoji only, say) gets a short stable hash;
    a Windows device name (`con`, `nul`, `lpt1` …) gets the suffix `-x`.
    """
    slug = _cut(str(_slugify(_spelled(text))))
    if slug in WINDOWS_DEVICE_NAMES:
        return slug + DEVICE_NAME_SUFFIX
    if slug:
        return slug
    digest = hashlib.sha1((fallback_seed or text).encode("utf-8")).hexdigest()[:8]
    return f"n-{digest}"


def _cut(slug: str, length: int = MAX_SLUG_LENGTH) -> str:
    """The slug cut to `length` after its last whole word that fits (a word longer than
    that is cut itself). The words kept are the first ones, in order: none is skipped
    for a shorter one after it."""
    if len(slug) <= length:
        return slug
    cut = slug[: length + 1].rpartition("-")[0]
    return cut or slug[:length].rstrip("-")


def is_shortened(text: str) -> bool:
    """Whether `slugify(text)` is cut short to fit `MAX_SLUG_LENGTH`."""
    return len(str(_slugify(_spelled(text)))) > MAX_SLUG_LENGTH


def _spelled(text: str) -> str:
    """The text with its meaningful symbols spelled out as words."""
    spelled = _LEADING_DOT.sub("dot", text)
    for symbol, word in _SYMBOLS:
        spelled = spelled.replace(symbol, word)
    return spelled


def unique_slug(slug: str, taken: Container[str]) -> str:
    """`slug`, or `slug-2`, `slug-3` ... the first one not in `taken`; a slug too long
    for its number is cut to make room, so none is longer than `MAX_SLUG_LENGTH`."""
    if slug not in taken:
        return slug
    number = 2
    while (numbered := _with_number(slug, number)) in taken:
        number += 1
    return numbered


def numbered_from(slug: str, wanted: str) -> bool:
    """Whether `unique_slug` may give `slug` for `wanted`: it is `wanted`, or `wanted`
    with a number."""
    if slug == wanted:
        return True
    _, dash, number = slug.rpartition("-")
    if not (dash and number.isdigit() and number[0] != "0" and len(number) < 8):
        return False
    return int(number) >= 2 and _with_number(wanted, int(number)) == slug


def _with_number(slug: str, number: int) -> str:
    suffix = f"-{number}"
    return _cut(slug, MAX_SLUG_LENGTH - len(suffix)) + suffix
